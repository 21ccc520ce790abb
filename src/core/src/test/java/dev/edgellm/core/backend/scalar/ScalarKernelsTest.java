package dev.edgellm.core.backend.scalar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.testing.TensorFactory;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The oracle's math against straightforward float64 formulas. */
class ScalarKernelsTest {
    private static final ScalarBackend B = new ScalarBackend(1);

    @AfterAll
    static void close() {
        B.close();
    }

    private static Activations put(float[] x) {
        Activations a = B.allocate(x.length);
        B.write(x, 0, a, 0, x.length);
        return a;
    }

    private static float[] get(Activations a, int n) {
        float[] o = new float[n];
        B.read(a, 0, o, 0, n);
        return o;
    }

    @Test
    void quantizedMatmulIsTheDotProductUpToActivationRounding() {
        SplittableRandom r = new SplittableRandom(1);
        for (GgmlType type : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F16, GgmlType.BF16, GgmlType.F32,
                GgmlType.Q5_0, GgmlType.Q4_1, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            int rows = 24;
            int cols = 512;
            GgufTensor t = TensorFactory.tensor("w", type, rows, cols, TensorFactory.random(r, rows * cols, 1f));
            float[] w = TensorFactory.decode(t);
            float[] x = TensorFactory.random(r, cols, 3f);
            Activations out = B.allocate(rows);
            B.matmul(B.weight(t), put(x), out, 1);
            float[] got = get(out, rows);
            for (int row = 0; row < rows; row++) {
                double want = 0;
                double bound = 1e-5;
                for (int c = 0; c < cols; c++) {
                    want += (double) w[row * cols + c] * x[c];
                    // Q8_0 activations: error <= half a step of amax/127 per element; f16/bf16 activations: half an ulp
                    // Q8_K: the same per 256; Q8_1 keeps d as fp16 while quantizing with 127/amax
                    // (another 127 * 2^-11 steps), and its weights' min meets s = fp16(d * sum q):
                    // count the min (|m| <= 1 here) on every element at twice the step
                    double step = switch (type) {
                        case Q4_0, Q8_0, Q5_0, Q4_K, Q5_K, Q6_K -> 3f / 127 / 2 * 1.01;
                        case Q4_1, Q5_1 -> 3f / 127 * (0.5 + 127 * Math.pow(2, -11)) * 1.01;
                        case F16 -> Math.abs(x[c]) * Math.pow(2, -11);
                        case BF16 -> Math.abs(x[c]) * Math.pow(2, -8);
                        default -> Math.abs(x[c]) * 1e-7;
                    };
                    bound += Math.abs(w[row * cols + c]) * step;
                    if (type == GgmlType.Q4_1 || type == GgmlType.Q5_1) {
                        bound += 2 * step + 3f / 127 * 32 * 127 * Math.pow(2, -11) / 32;
                    }
                }
                assertEquals(want, got[row], bound, type + " row " + row);
            }
        }
    }

    @Test
    void rmsNormMatchesFormula() {
        float[] x = {1f, -2f, 3f, 0.5f};
        float[] g = {1f, 2f, 0.5f, -1f};
        GgufTensor gt = TensorFactory.tensor("g", GgmlType.F32, 1, 4, g);
        Activations a = put(x);
        B.rmsNorm(a, B.weight(gt), a, 4, 1, 1e-6f);
        double ms = (1 + 4 + 9 + 0.25) / 4;
        float[] got = get(a, 4);
        for (int i = 0; i < 4; i++) {
            assertEquals(x[i] / Math.sqrt(ms + 1e-6) * g[i], got[i], 1e-6);
        }
    }

    @Test
    void ropeRotatesThePairsOfEachStyle() {
        SplittableRandom r = new SplittableRandom(2);
        int hd = 16;
        for (boolean neox : new boolean[] {true, false}) {
            RopeSpec spec = new RopeSpec(12, 10000f, 0.5f, neox); // partial: the last 4 dims pass through
            float[] x = TensorFactory.random(r, hd, 1f);
            Activations a = put(x);
            int pos = 37;
            B.rope(a, 1, 1, hd, pos, spec);
            float[] got = get(a, hd);
            for (int i = 0; i < 6; i++) {
                double theta = pos * 0.5 * Math.pow(10000, -2.0 * i / 12);
                int i0 = neox ? i : 2 * i;
                int i1 = neox ? i + 6 : 2 * i + 1;
                assertEquals(x[i0] * Math.cos(theta) - x[i1] * Math.sin(theta), got[i0], 2e-5, "neox=" + neox + " pair " + i);
                assertEquals(x[i0] * Math.sin(theta) + x[i1] * Math.cos(theta), got[i1], 2e-5, "neox=" + neox + " pair " + i);
            }
            for (int i = 12; i < hd; i++) {
                assertEquals(x[i], got[i], 0f, "dims past the rope dims are untouched");
            }
        }
    }

    @Test
    void geluTableTracksExactGelu() {
        for (float x = -12f; x <= 12f; x += 0.01f) {
            double exact = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            assertEquals(exact, ScalarKernels.geluTable(x), Math.abs(exact) * 2e-3 + 2e-3, "gelu(" + x + ")");
        }
    }

    @Test
    void slidingWindowAttentionMatchesNaiveSoftmax() {
        SplittableRandom r = new SplittableRandom(3);
        int heads = 2;
        int kvHeads = 1;
        int dim = 8;
        int window = 5;
        int total = 23;
        KvCacheSpec spec = new KvCacheSpec(new int[] {window}, kvHeads, dim, dim, false); // exactly the window: wraps
        AttentionSpec as = new AttentionSpec(heads, kvHeads, dim, dim, 0.3f, window, 0f);
        float[] k = TensorFactory.random(r, total * dim, 1f);
        float[] v = TensorFactory.random(r, total * dim, 1f);
        try (KvCache cache = B.kvCache(spec)) {
            for (int p = 0; p < total; p++) {
                Activations ka = B.allocate(dim);
                Activations va = B.allocate(dim);
                B.write(k, p * dim, ka, 0, dim);
                B.write(v, p * dim, va, 0, dim);
                B.kvStore(cache, 0, ka, va, p, 1);
                float[] q = TensorFactory.random(r, heads * dim, 1f);
                Activations out = B.allocate(heads * dim);
                B.attention(put(q), cache, 0, p, 1, as, out);
                float[] got = get(out, heads * dim);
                for (int h = 0; h < heads; h++) {
                    int lo = Math.max(0, p - window + 1);
                    double[] s = new double[p - lo + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = lo; j <= p; j++) {
                        double dot = 0;
                        for (int i = 0; i < dim; i++) {
                            dot += q[h * dim + i] * k[j * dim + i];
                        }
                        s[j - lo] = 0.3 * dot;
                        max = Math.max(max, s[j - lo]);
                    }
                    double sum = 0;
                    for (int j = 0; j < s.length; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int i = 0; i < dim; i++) {
                        double want = 0;
                        for (int j = lo; j <= p; j++) {
                            want += s[j - lo] / sum * v[j * dim + i];
                        }
                        assertEquals(want, got[h * dim + i], 1e-5, "pos " + p + " head " + h + " dim " + i);
                    }
                }
            }
        }
    }

    @Test
    void unsupportedTypesAreRefusedByName() {
        GgufTensor t = new GgufTensor("blk.0.attn_q.weight", GgmlType.Q3_K, new long[] {256, 2}, 0,
                java.lang.foreign.MemorySegment.ofArray(new byte[220]));
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.edgellm.core.backend.UnsupportedTensorException.class, () -> B.weight(t));
        assertTrue(e.getMessage().contains("blk.0.attn_q.weight") && e.getMessage().contains("Q3_K"), e.getMessage());
    }
}
