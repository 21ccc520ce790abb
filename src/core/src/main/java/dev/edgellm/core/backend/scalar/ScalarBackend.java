package dev.edgellm.core.backend.scalar;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.backend.cpu.CpuBackend;
import dev.edgellm.core.backend.cpu.HostKvCache;
import dev.edgellm.core.backend.cpu.HostWeight;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.tensor.KQuants;
import dev.edgellm.core.tensor.LegacyQuants;

/**
 * The reference backend: {@link ScalarKernels} in plain Java, always available. Matrix products are
 * spread over rows across threads (results do not depend on the thread count). Activations meet
 * each weight type as in llama.cpp's CPU backend: quantized once per product to Q8_0 (Q4_0, Q5_0,
 * Q8_0 weights), Q8_1 (Q4_1, Q5_1) or Q8_K (Q4_K, Q5_K, Q6_K), rounded to f16/bf16 for those
 * weights, float32 otherwise.
 */
public final class ScalarBackend extends CpuBackend {
    public static final String ID = "scalar";

    // Activations converted for the weight type at hand; reused across calls.
    private byte[] xq = new byte[0];
    private float[] xd = new float[0];
    private float[] xs = new float[0];
    private short[] xsums = new short[0];
    private float[] xr = new float[0];
    private float[] scores = new float[0];
    private float[] qh = new float[0];

    public ScalarBackend(int threads) {
        super(ID, threads);
    }

    @Override
    public void matmul(Weight weight, Activations xa, Activations outa, int n) {
        HostWeight w = (HostWeight) weight;
        float[] x = host(xa);
        float[] out = host(outa);
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
                boolean f16 = w.type() == dev.edgellm.core.gguf.GgmlType.F16;
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

    @Override
    public void rmsNorm(Activations x, Weight weight, Activations out, int width, int rows, float eps) {
        ScalarKernels.rmsNorm(host(x), host(out), vector(weight), width, 0, rows, eps);
    }

    @Override
    public void rope(Activations x, int n, int heads, int headDim, int startPos, RopeSpec rope) {
        ScalarKernels.rope(host(x), n, heads, headDim, startPos, rope);
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations out) {
        HostKvCache c = (HostKvCache) cache;
        int span = spec.window() > 0 ? Math.min(spec.window(), startPos + n) : startPos + n;
        if (scores.length < span) {
            scores = new float[span];
        }
        if (qh.length < spec.keyDim()) {
            qh = new float[spec.keyDim()];
        }
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < spec.heads(); h++) {
                ScalarKernels.attendHead(host(q), c, layer, startPos, t, h, spec, host(out), scores, qh);
            }
        }
    }

    @Override
    public void geluMul(Activations gate, Activations up, int len) {
        ScalarKernels.geluMul(host(gate), host(up), 0, len);
    }

    @Override
    public void siluMul(Activations gate, Activations up, int len) {
        ScalarKernels.siluMul(host(gate), host(up), 0, len);
    }

    @Override
    public void add(Activations x, Activations y, int len) {
        ScalarKernels.add(host(x), host(y), 0, len);
    }
}
