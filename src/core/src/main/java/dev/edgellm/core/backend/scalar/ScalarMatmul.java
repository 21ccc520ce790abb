package dev.edgellm.core.backend.scalar;

import dev.edgellm.core.backend.cpu.HostWeight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.tensor.KQuants;
import dev.edgellm.core.tensor.LegacyQuants;
import dev.edgellm.core.util.WorkerPool;

/**
 * The oracle's matrix product for every weight type a CPU backend accepts: activations are
 * converted once per product to llama.cpp's {@code vec_dot_type} of the weight (Q8_0 for Q4_0,
 * Q5_0 and Q8_0; Q8_1 for Q4_1 and Q5_1; Q8_K for the K-quants; f16/bf16 rounding for those
 * weights; float32 otherwise), then each (row, token) is one {@link ScalarKernels} dot product.
 * Rows are spread across the pool's threads; results do not depend on the thread count. Other CPU
 * backends use it for the weight types they have no faster kernel for, which makes those
 * products exactly the oracle's.
 *
 * <p>Holds the converted activations between calls: one product at a time per instance.
 */
public final class ScalarMatmul {
    private byte[] xq = new byte[0];
    private float[] xd = new float[0];
    private float[] xs = new float[0];
    private short[] xsums = new short[0];
    private float[] xr = new float[0];

    /** {@code out[t][r] = w[r] . x[t]} for {@code t < n}, rows spread over {@code pool}. */
    public void run(HostWeight w, float[] x, float[] out, int n, WorkerPool pool) {
        int cols = w.cols();
        int rows = w.rows();
        int total = Math.multiplyExact(n, cols);
        // Activations are quantized once per product to llama.cpp's vec_dot_type of the weight type.
        switch (w.type()) {
            case Q4_0, Q5_0, Q8_0 -> {
                ensureQ8(total);
                Codecs.quantizeQ8_0(x, 0, total, xd, 0, xq, 0);
            }
            case Q4_1, Q5_1 -> {
                ensureQ8(total);
                LegacyQuants.quantizeQ8_1(x, 0, total, xd, xs, 0, xq, 0);
            }
            case Q4_K, Q5_K, Q6_K -> {
                ensureQ8(total);
                KQuants.quantizeQ8_K(x, 0, total, xd, 0, xq, 0, xsums, 0);
            }
            case F16, BF16 -> {
                if (xr.length < total) {
                    xr = new float[total];
                }
                boolean f16 = w.type() == GgmlType.F16;
                for (int i = 0; i < total; i++) {
                    xr[i] = f16 ? Codecs.f16ToF32(Codecs.f32ToF16(x[i])) : Codecs.bf16ToF32(Codecs.f32ToBf16(x[i]));
                }
            }
            default -> { }
        }
        byte[] q = xq;
        float[] d = xd;
        float[] s = xs;
        short[] sums = xsums;
        float[] r = xr;
        int blocks = cols / w.type().blockSize();
        pool.parallelFor(rows, 16, (r0, r1) -> {
            for (int row = r0; row < r1; row++) {
                long base = row * w.rowBytes();
                for (int t = 0; t < n; t++) {
                    out[t * rows + row] = switch (w.type()) {
                        case Q4_0 -> ScalarKernels.dotQ4_0Q8_0(w.data(), base, q, d, t * blocks, blocks);
                        case Q8_0 -> ScalarKernels.dotQ8_0Q8_0(w.data(), base, q, d, t * blocks, blocks);
                        case Q5_0 -> ScalarKernels.dotQ5_0Q8_0(w.data(), base, q, d, t * blocks, blocks);
                        case Q4_1 -> ScalarKernels.dotQ4_1Q8_1(w.data(), base, q, d, s, t * blocks, blocks);
                        case Q5_1 -> ScalarKernels.dotQ5_1Q8_1(w.data(), base, q, d, s, t * blocks, blocks);
                        case Q4_K -> ScalarKernels.dotQ4_KQ8_K(w.data(), base, q, d, sums, t * blocks, blocks);
                        case Q5_K -> ScalarKernels.dotQ5_KQ8_K(w.data(), base, q, d, sums, t * blocks, blocks);
                        case Q6_K -> ScalarKernels.dotQ6_KQ8_K(w.data(), base, q, d, t * blocks, blocks);
                        case F16 -> ScalarKernels.dotF16F32(w.data(), base, r, t * cols, cols);
                        case BF16 -> ScalarKernels.dotBF16F32(w.data(), base, r, t * cols, cols);
                        case F32 -> ScalarKernels.dotF32F32(w.data(), base, x, t * cols, cols);
                        default -> throw new IllegalStateException("unsupported weight type " + w.type());
                    };
                }
            }
        });
    }

    /** Room for {@code total} quantized activations in any of the Q8 formats (scales per 32, sums per 16). */
    private void ensureQ8(int total) {
        if (xq.length < total) {
            xq = new byte[total];
            xd = new float[total / Codecs.QK];
            xs = new float[total / Codecs.QK];
            xsums = new short[total / 16];
        }
    }
}
