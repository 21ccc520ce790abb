package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The vector backend against the scalar oracle. Surefire runs this class three times: with the
 * machine's preferred species and with {@code edgellm.vector.bits} = 256 and 128, so all code paths
 * are covered on one machine.
 */
class VectorKernelConformanceTest extends AbstractBackendConformanceTest {

    @Override
    protected Backend candidate(int threads) {
        System.out.println("vector kernels: " + Simd.BITS + "-bit species, " + Simd.L + " float lanes");
        return new VectorBackend(threads);
    }

    /**
     * A (row, token) product must come out the same bits whatever else is in the call: batched
     * (matrix-matrix path, 4x4 and 4x1 tiles) or alone (matrix-vector path), on one thread or two.
     * Row counts cover partial panels and an odd last row.
     */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("batchInvarianceCases")
    void matmulIsIndependentOfBatchAndThreads(GgmlType type, int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(77L * rows + cols + type.ordinal());
        GgufTensor t = TestTensors.randomWeight(rnd, type, rows, cols);
        int n = 7;
        float[] x = TestTensors.gaussian(rnd, n * cols, 1.0);
        try (Backend two = new VectorBackend(2); Backend one = new VectorBackend(1)) {
            float[] batched = matmul(two, t, x, 0, n, rows, cols);
            for (Backend b : new Backend[] {two, one}) {
                for (int tok = 0; tok < n; tok++) {
                    float[] alone = matmul(b, t, x, tok, 1, rows, cols);
                    for (int r = 0; r < rows; r++) {
                        int i = tok * rows + r;
                        if (Float.floatToRawIntBits(alone[r]) != Float.floatToRawIntBits(batched[i])) {
                            throw new AssertionError(String.format("%s %dx%d token %d row %d (%d threads): alone %s, batched %s",
                                    type, rows, cols, tok, r, b.threads(), alone[r], batched[i]));
                        }
                    }
                }
            }
        }
    }

    /** The 16-at-once reduction of a 4x4 tile gives every {@link Simd#sum} bit for bit. */
    @Test
    void sumsOfSixteenMatchTheLaneTree() {
        SplittableRandom rnd = new SplittableRandom(5);
        float[] v = new float[16 * Simd.L];
        float[] got = new float[16];
        for (int iter = 0; iter < 2000; iter++) {
            for (int i = 0; i < v.length; i++) {
                // wide exponents and cancellation make every change of association visible
                v[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-20, 21)));
            }
            Simd.sums(v, 16, got);
            for (int k = 0; k < 16; k++) {
                float want = Simd.sum(jdk.incubator.vector.FloatVector.fromArray(Simd.F, v, k * Simd.L));
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[k]), "vector " + k + " at iteration " + iter);
            }
        }
    }

    static Stream<Arguments> batchInvarianceCases() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType type : List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F16, GgmlType.BF16, GgmlType.F32)) {
            // 2400 columns: three chunks; 4096: rows over 2 KB (the long-row decode path, chunks in
            // pairs); 4992: five chunks, the last one shorter (two pairs, then one chunk alone)
            List<Integer> colsList = new ArrayList<>(List.of(64, 1152, 2400, 4096, 4992));
            if (type == GgmlType.F16 || type == GgmlType.BF16 || type == GgmlType.F32) {
                colsList.add(72);
            }
            for (int cols : colsList) {
                for (int rows : List.of(7, 130)) {
                    cases.add(Arguments.of(type, rows, cols));
                }
            }
        }
        for (GgmlType type : List.of(GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
            for (int cols : type.blockSize() == 256 ? List.of(256, 4096) : List.of(64, 1152)) {
                cases.add(Arguments.of(type, 130, cols));
            }
        }
        return cases.stream();
    }

    /** Tokens {@code [t0, t0+n)} of {@code x} through {@code b}'s matmul. */
    private static float[] matmul(Backend b, GgufTensor t, float[] x, int t0, int n, int rows, int cols) {
        Weight w = b.weight(t);
        Activations xa = b.allocate(n * cols);
        Activations oa = b.allocate(n * rows);
        b.write(x, t0 * cols, xa, 0, n * cols);
        b.matmul(w, xa, oa, n);
        float[] out = new float[n * rows];
        b.read(oa, 0, out, 0, out.length);
        return out;
    }

    /** The vector quantizer must reproduce Codecs.quantizeQ8_0 bit for bit (scales and quants), also in the Q4_0 kernels' form. */
    @Test
    void quantizeQ8_0IsExact() {
        SplittableRandom rnd = new SplittableRandom(42);
        int n = 32 * 300;
        float[] x = TestTensors.gaussian(rnd, n, 2.0);
        // edge cases: an all-zero block, exact halves (ties to even), tiny values
        for (int j = 0; j < 32; j++) {
            x[j] = 0f;
            x[32 + j] = (j - 16) * 0.5f;
            x[64 + j] = (float) (j * 1e-30);
        }
        x[96] = 127f;
        for (int j = 1; j < 32; j++) {
            x[96 + j] = j + 0.5f;
        }
        byte[] q = new byte[n];
        float[] d = new float[n / 32];
        Codecs.quantizeQ8_0(x, 0, n, d, 0, q, 0);
        for (boolean nibbleForm : new boolean[] {false, true}) {
            short[] gotQ = new short[n];
            float[] gotD = new float[n / 32];
            short[] gotO = new short[n / 32];
            VectorKernels.quantizeQ8_0(x, 0, n, gotQ, gotD, gotO, nibbleForm);
            assertArrayEquals(d, gotD);
            for (int b = 0; b < n / 32; b++) {
                int sum = 0;
                for (int j = 0; j < 32; j++) {
                    int i = b * 32 + j;
                    // the Q4_0 kernels' form: a_{16+j} - 16 a_j in the second half
                    int want = nibbleForm && j >= 16 ? q[i] - 16 * q[i - 16] : q[i];
                    assertEquals(want, gotQ[i], "quant " + i + (nibbleForm ? " (nibble form)" : ""));
                    sum += q[i];
                }
                assertEquals(-8 * sum, gotO[b], "offset of block " + b);
            }
        }
    }

    @Test
    void halfConversionsAreExact() {
        short[] all = new short[1 << 16];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        float[] got = new float[all.length];
        for (int i = 0; i < all.length; i += Simd.L) {
            Convert.f16ToF32(jdk.incubator.vector.ShortVector.fromArray(Simd.SH, all, i)).intoArray(got, i);
        }
        for (int i = 0; i < all.length; i++) {
            float want = Float.float16ToFloat(all[i]);
            int bits = all[i] & 0xFFFF;
            if (Float.isNaN(want)) {
                // NaN stays NaN; whether a signaling payload gets quieted is not specified
                assertEquals(true, Float.isNaN(got[i]), () -> "f16 bits " + Integer.toHexString(bits));
            } else {
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), () -> "f16 bits " + Integer.toHexString(bits));
            }
        }
        for (int i = 0; i < all.length; i += Simd.L) {
            Convert.bf16ToF32(jdk.incubator.vector.ShortVector.fromArray(Simd.SH, all, i)).intoArray(got, i);
        }
        for (int i = 0; i < all.length; i++) {
            assertEquals(Float.floatToRawIntBits(Codecs.bf16ToF32(all[i])), Float.floatToRawIntBits(got[i]));
        }
    }
}
