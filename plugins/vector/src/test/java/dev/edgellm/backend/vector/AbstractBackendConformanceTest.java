package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op of a backend against the scalar oracle ({@link ScalarBackend}) on random data with fixed
 * seeds. Written against the {@link Backend} SPI only, so it can move to the core test jar as a
 * shared suite: a backend's test extends it and supplies {@link #candidate}.
 *
 * <p>Bounds (per output element):
 * <ul>
 *   <li>matmul: {@code |got - want| <= 1e-4 * sum_i |w_i x_i| + 1e-6}, with {@code w_i} the decoded
 *       weights and {@code x_i} the activations as the product sees them (Q8_0-quantized for
 *       Q4_0/Q8_0, rounded to f16/bf16 for F16/BF16). Backends may sum in any order; float
 *       rounding of a k-term sum is far below this.
 *   <li>element-wise ops (rmsNorm, rope, geluMul, siluMul, add): {@code |got - want| <= 1e-5 * |want| + 1e-7}.
 *   <li>attention: {@code |got - want| <= 1e-5 * max|V| + 1e-6} (outputs are convex combinations of value rows).
 * </ul>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class AbstractBackendConformanceTest {
    protected static final double MATMUL_REL = 1e-4;
    protected static final double MATMUL_ABS = 1e-6;
    protected static final double ELEMENT_REL = 1e-5;
    protected static final double ELEMENT_ABS = 1e-7;
    protected static final double ATTENTION_REL = 1e-5;
    protected static final double ATTENTION_ABS = 1e-6;

    private Backend oracle;
    private Backend backend;

    /** The backend under test, with {@code threads} compute threads. */
    protected abstract Backend candidate(int threads);

    /** Threads the candidate runs with (more than one, to cover the parallel paths). */
    protected int threads() {
        return 2;
    }

    @BeforeAll
    void open() {
        oracle = new ScalarBackend(1);
        backend = candidate(threads());
    }

    @AfterAll
    void close() {
        oracle.close();
        backend.close();
    }

    // ---- matmul -------------------------------------------------------------------------------------

    static Stream<Arguments> matmulCases() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType type : List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F16, GgmlType.BF16, GgmlType.F32,
                GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
            List<Integer> colsList = new ArrayList<>(type.blockSize() == 256 ? List.of(256, 512, 1024) : List.of(64, 256, 1152));
            if (type == GgmlType.F16 || type == GgmlType.BF16 || type == GgmlType.F32) {
                colsList.add(72);   // not a multiple of any vector width: scalar tails
            }
            for (int cols : colsList) {
                for (int rows : List.of(1, 7, 33, 130)) {
                    for (int n : List.of(1, 3, 17)) {
                        cases.add(Arguments.of(type, rows, cols, n));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}x{2} n={3}")
    @MethodSource("matmulCases")
    void matmul(GgmlType type, int rows, int cols, int n) {
        SplittableRandom rnd = new SplittableRandom(1000L * rows + 31L * cols + n + type.ordinal());
        GgufTensor t = TestTensors.randomWeight(rnd, type, rows, cols);
        float[] x = TestTensors.gaussian(rnd, n * cols, 1.0);
        float[] want = runMatmul(oracle, t, x, rows, n);
        float[] got = runMatmul(backend, t, x, rows, n);
        float[] bound = matmulBound(t, x, rows, cols, n);
        for (int i = 0; i < want.length; i++) {
            double tol = MATMUL_REL * bound[i] + MATMUL_ABS;
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                fail(String.format("%s %dx%d n=%d: out[%d] (token %d, row %d) = %s, oracle %s, |diff| %.3g > %.3g",
                        type, rows, cols, n, i, i / rows, i % rows, got[i], want[i], Math.abs(got[i] - want[i]), tol));
            }
        }
    }

    private static float[] runMatmul(Backend b, GgufTensor t, float[] x, int rows, int n) {
        Weight w = b.weight(t);
        Activations xa = b.allocate(x.length);
        Activations oa = b.allocate(n * rows);
        b.write(x, 0, xa, 0, x.length);
        b.matmul(w, xa, oa, n);
        float[] out = new float[n * rows];
        b.read(oa, 0, out, 0, out.length);
        return out;
    }

    /** {@code sum_i |w_i x_i|} per output, with the activations as the product of that weight type sees them. */
    private static float[] matmulBound(GgufTensor t, float[] x, int rows, int cols, int n) {
        float[] xv = new float[x.length];
        switch (t.type()) {
            case Q4_0, Q8_0, Q5_0 -> {
                byte[] q = new byte[x.length];
                float[] d = new float[x.length / 32];
                Codecs.quantizeQ8_0(x, 0, x.length, d, 0, q, 0);
                for (int i = 0; i < x.length; i++) {
                    xv[i] = q[i] * d[i / 32];
                }
            }
            case Q4_1, Q5_1 -> {
                byte[] q = new byte[x.length];
                float[] d = new float[x.length / 32];
                float[] s = new float[x.length / 32];
                dev.edgellm.core.tensor.LegacyQuants.quantizeQ8_1(x, 0, x.length, d, s, 0, q, 0);
                for (int i = 0; i < x.length; i++) {
                    xv[i] = q[i] * d[i / 32];
                }
            }
            case Q4_K, Q5_K, Q6_K -> {
                byte[] q = new byte[x.length];
                float[] d = new float[x.length / 256];
                short[] sums = new short[x.length / 16];
                dev.edgellm.core.tensor.KQuants.quantizeQ8_K(x, 0, x.length, d, 0, q, 0, sums, 0);
                for (int i = 0; i < x.length; i++) {
                    xv[i] = q[i] * d[i / 256];
                }
            }
            case F16 -> {
                for (int i = 0; i < x.length; i++) {
                    xv[i] = Codecs.f16ToF32(Codecs.f32ToF16(x[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < x.length; i++) {
                    xv[i] = Codecs.bf16ToF32(Codecs.f32ToBf16(x[i]));
                }
            }
            default -> System.arraycopy(x, 0, xv, 0, x.length);
        }
        float[] w = new float[cols];
        float[] bound = new float[n * rows];
        for (int r = 0; r < rows; r++) {
            Codecs.dequantizeRow(t.type(), t.data(), r * t.rowBytes(), w, 0, cols);
            for (int tok = 0; tok < n; tok++) {
                double s = 0;
                for (int c = 0; c < cols; c++) {
                    s += Math.abs(w[c] * xv[tok * cols + c]);
                }
                bound[tok * rows + r] = (float) s;
            }
        }
        return bound;
    }

    // ---- element-wise -------------------------------------------------------------------------------

    static Stream<Arguments> normCases() {
        List<Arguments> cases = new ArrayList<>();
        for (int width : List.of(64, 100, 256, 1152)) {
            for (int rows : List.of(1, 3, 17)) {
                cases.add(Arguments.of(width, rows));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "width {0} rows {1}")
    @MethodSource("normCases")
    void rmsNorm(int width, int rows) {
        SplittableRandom rnd = new SplittableRandom(width * 7L + rows);
        GgufTensor gain = TestTensors.weight("norm", GgmlType.F32, 1, width, TestTensors.gaussian(rnd, width, 1.0));
        float[] x = TestTensors.gaussian(rnd, width * rows, 3.0);
        float[][] res = new float[2][];
        int i = 0;
        for (Backend b : List.of(oracle, backend)) {
            Activations xa = b.allocate(x.length);
            Activations oa = b.allocate(x.length);
            b.write(x, 0, xa, 0, x.length);
            b.rmsNorm(xa, b.weight(gain), oa, width, rows, 1e-6f);
            // in place too
            b.rmsNorm(xa, b.weight(gain), xa, width, rows, 1e-6f);
            float[] o = new float[2 * x.length];
            b.read(oa, 0, o, 0, x.length);
            b.read(xa, 0, o, x.length, x.length);
            res[i++] = o;
        }
        assertElementwise("rmsNorm", res[0], res[1]);
    }

    static Stream<Arguments> ropeCases() {
        List<Arguments> cases = new ArrayList<>();
        for (boolean neox : List.of(true, false)) {
            for (int[] hd : List.of(new int[] {64, 64}, new int[] {64, 32}, new int[] {256, 256}, new int[] {128, 40})) {
                for (int n : List.of(1, 3, 17)) {
                    for (int start : List.of(0, 5, 1000)) {
                        cases.add(Arguments.of(neox, hd[0], hd[1], n, start));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "neox={0} headDim {1} dims {2} n={3} start {4}")
    @MethodSource("ropeCases")
    void rope(boolean neox, int headDim, int dims, int n, int start) {
        int heads = 3;
        SplittableRandom rnd = new SplittableRandom(headDim * 31L + dims + n * 7L + start + (neox ? 1 : 0));
        float[] x = TestTensors.gaussian(rnd, n * heads * headDim, 1.0);
        RopeSpec spec = new RopeSpec(dims, neox ? 1_000_000f : 10_000f, neox ? 0.125f : 1f, neox);
        float[][] res = new float[2][];
        int i = 0;
        for (Backend b : List.of(oracle, backend)) {
            Activations xa = b.allocate(x.length);
            b.write(x, 0, xa, 0, x.length);
            b.rope(xa, n, heads, headDim, start, spec);
            // a second call at the same positions (q then k) with fewer heads
            Activations ya = b.allocate(x.length);
            b.write(x, 0, ya, 0, x.length);
            b.rope(ya, n, 1, headDim, start, spec);
            float[] o = new float[2 * x.length];
            b.read(xa, 0, o, 0, x.length);
            b.read(ya, 0, o, x.length, x.length);
            res[i++] = o;
        }
        assertElementwise("rope", res[0], res[1]);
    }

    static Stream<Integer> lengths() {
        return Stream.of(1, 17, 1000, 6912, 40_000);
    }

    @ParameterizedTest(name = "len {0}")
    @MethodSource("lengths")
    void geluMul(int len) {
        elementwise(len, (b, g, u) -> b.geluMul(g, u, len));
    }

    @ParameterizedTest(name = "len {0}")
    @MethodSource("lengths")
    void siluMul(int len) {
        elementwise(len, (b, g, u) -> b.siluMul(g, u, len));
    }

    @ParameterizedTest(name = "len {0}")
    @MethodSource("lengths")
    void add(int len) {
        elementwise(len, (b, g, u) -> b.add(g, u, len));
    }

    private interface BinaryOp {
        void apply(Backend b, Activations x, Activations y);
    }

    private void elementwise(int len, BinaryOp op) {
        SplittableRandom rnd = new SplittableRandom(len);
        float[] x = TestTensors.gaussian(rnd, len, 4.0);
        float[] y = TestTensors.gaussian(rnd, len, 2.0);
        x[0] = len > 1 ? 12f : x[0];     // past the GELU table's saturation point
        float[][] res = new float[2][];
        int i = 0;
        for (Backend b : List.of(oracle, backend)) {
            Activations xa = b.allocate(len);
            Activations ya = b.allocate(len);
            b.write(x, 0, xa, 0, len);
            b.write(y, 0, ya, 0, len);
            op.apply(b, xa, ya);
            float[] o = new float[len];
            b.read(xa, 0, o, 0, len);
            res[i++] = o;
        }
        assertElementwise("op", res[0], res[1]);
    }

    private static void assertElementwise(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            double tol = ELEMENT_REL * Math.abs(want[i]) + ELEMENT_ABS;
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                fail(String.format("%s[%d] = %s, oracle %s, |diff| %.3g > %.3g", what, i, got[i], want[i], Math.abs(got[i] - want[i]), tol));
            }
        }
    }

    // ---- attention ----------------------------------------------------------------------------------

    static Stream<Arguments> attentionCases() {
        List<Arguments> cases = new ArrayList<>();
        for (boolean f16 : List.of(true, false)) {
            for (int[] shape : List.of(new int[] {4, 1, 64, 64}, new int[] {4, 2, 32, 48}, new int[] {2, 2, 256, 256})) {
                for (int window : List.of(0, 8)) {
                    for (int n : List.of(1, 3, 17)) {
                        // startPos 0, a middle one, and one past the ring's capacity (wrap)
                        for (int start : List.of(0, 6, 45)) {
                            cases.add(Arguments.of(f16, shape[0], shape[1], shape[2], shape[3], window, n, start, 0f));
                        }
                    }
                }
            }
        }
        cases.add(Arguments.of(true, 4, 1, 64, 64, 0, 5, 9, 30f));   // soft-capping
        cases.add(Arguments.of(true, 4, 2, 32, 48, 0, 70, 3, 0f));   // 64+ queries: llama.cpp's float32 (tiled) path
        cases.add(Arguments.of(true, 2, 1, 64, 64, 8, 66, 0, 0f));
        cases.add(Arguments.of(false, 4, 2, 32, 32, 8, 17, 45, 50f));
        return cases.stream();
    }

    @ParameterizedTest(name = "f16={0} heads {1}/{2} dims {3}/{4} window {5} n={6} start {7} softcap {8}")
    @MethodSource("attentionCases")
    void attention(boolean f16, int heads, int kvHeads, int keyDim, int valueDim, int window, int n, int start, float softcap) {
        int maxBatch = 17;
        // a window layer is a ring of window + maxBatch - 1 slots; a full layer keeps everything
        int capacity = window > 0 ? window + maxBatch - 1 : start + n;
        KvCacheSpec spec = new KvCacheSpec(new int[] {capacity, capacity}, kvHeads, keyDim, valueDim, f16);
        AttentionSpec att = new AttentionSpec(heads, kvHeads, keyDim, valueDim, (float) (1 / Math.sqrt(keyDim)), window, softcap);
        SplittableRandom rnd = new SplittableRandom(heads * 1000L + keyDim * 10L + window + n * 7L + start + (f16 ? 1 : 0));
        int total = start + n;
        float[] k = TestTensors.gaussian(rnd, total * kvHeads * keyDim, 1.0);
        float[] v = TestTensors.gaussian(rnd, total * kvHeads * valueDim, 1.0);
        float[] q = TestTensors.gaussian(rnd, n * heads * keyDim, 1.0);
        float vmax = 0f;
        for (float f : v) {
            vmax = Math.max(vmax, Math.abs(f));
        }
        float[][] res = new float[2][];
        int i = 0;
        for (Backend b : List.of(oracle, backend)) {
            try (KvCache cache = b.kvCache(spec)) {
                // fill positions in batches of at most maxBatch, as sessions do; layer 1 gets the data
                Activations ka = b.allocate(maxBatch * kvHeads * keyDim);
                Activations va = b.allocate(maxBatch * kvHeads * valueDim);
                for (int p = 0; p < total; ) {
                    int len = Math.min(maxBatch, total - p);
                    if (p < start && p + len > start) {
                        len = start - p;    // the last batch is exactly the queries
                    }
                    b.write(k, p * kvHeads * keyDim, ka, 0, len * kvHeads * keyDim);
                    b.write(v, p * kvHeads * valueDim, va, 0, len * kvHeads * valueDim);
                    b.kvStore(cache, 1, ka, va, p, len);
                    p += len;
                }
                Activations qa = b.allocate(q.length);
                Activations oa = b.allocate(n * heads * valueDim);
                b.write(q, 0, qa, 0, q.length);
                b.attention(qa, cache, 1, start, n, att, oa);
                float[] o = new float[n * heads * valueDim];
                b.read(oa, 0, o, 0, o.length);
                res[i++] = o;
            }
        }
        double tol = ATTENTION_REL * vmax + ATTENTION_ABS;
        for (int j = 0; j < res[0].length; j++) {
            if (!(Math.abs(res[1][j] - res[0][j]) <= tol)) {
                fail(String.format("attention out[%d] = %s, oracle %s, |diff| %.3g > %.3g", j, res[1][j], res[0][j],
                        Math.abs(res[1][j] - res[0][j]), tol));
            }
        }
    }

    // ---- memory ops ---------------------------------------------------------------------------------

    @Test
    void embedAndCopy() {
        SplittableRandom rnd = new SplittableRandom(5);
        for (GgmlType type : List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F16, GgmlType.BF16, GgmlType.F32,
                GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
            int dim = type.blockSize() == 256 ? 256 : 64;
            GgufTensor table = TestTensors.randomWeight(rnd, type, 50, dim);
            int[] tokens = {3, 49, 0, 3};
            float[][] res = new float[2][];
            int i = 0;
            for (Backend b : List.of(oracle, backend)) {
                Activations out = b.allocate(tokens.length * dim);
                b.embed(b.weight(table), tokens, tokens.length, 1.5f, out);
                Activations copy = b.allocate(tokens.length * dim + 8);
                b.copy(out, dim, copy, 8, 3 * dim);
                float[] o = new float[tokens.length * dim + 3 * dim];
                b.read(out, 0, o, 0, tokens.length * dim);
                b.read(copy, 8, o, tokens.length * dim, 3 * dim);
                res[i++] = o;
            }
            assertElementwise("embed " + type, res[0], res[1]);
        }
    }
}
