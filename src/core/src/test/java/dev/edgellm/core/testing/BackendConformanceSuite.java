package dev.edgellm.core.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.UnsupportedTensorException;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
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
 * One conformance suite for every backend, against the scalar oracle (llama.cpp test-backend-ops
 * style). Subclasses provide the backend under test.
 *
 * <p>Error bounds: matrix products {@code |got - want| <= 1e-4 * sum_i |w_i x_i| + 1e-5} (float
 * summation order differs between kernels; both sides use the same Q8_0 activations); attention
 * outputs within {@code 1e-4 * max|v| + 1e-5}; element-wise ops and norms within {@code 1e-5}
 * relative ({@code 1e-6} absolute floor); exact copies exactly.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendConformanceSuite {
    public static final double MATMUL_REL = 1e-4;
    public static final double ELEMENTWISE_REL = 1e-5;

    protected abstract Backend newBackend();

    private Backend test;
    private Backend oracle;
    private double worstMatmul;

    @BeforeAll
    void open() {
        test = newBackend();
        oracle = new ScalarBackend(1);
    }

    @AfterAll
    void close() {
        test.close();
        oracle.close();
        System.out.printf(Locale.ROOT, "[%s] conformance: worst matmul error / bound = %.3f%n", test.id(), worstMatmul);
    }

    /** Every weight type a CPU backend computes with; the ones {@link #weightTypes()} leaves out are checked for a clear refusal. */
    static final List<GgmlType> ALL_TYPES = List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.F16, GgmlType.BF16, GgmlType.F32,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);

    /** The weight types the backend under test computes with (default: all of {@link #ALL_TYPES}). */
    protected Set<GgmlType> weightTypes() {
        return EnumSet.copyOf(ALL_TYPES);
    }

    Stream<Arguments> matmulShapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (GgmlType t : ALL_TYPES) {
            if (!weightTypes().contains(t)) {
                continue;
            }
            // K-quant rows are whole 256-weight super-blocks; 1152 = 4.5 super-blocks is Gemma 3 1B's width, which K-quant files store as Q5_0/Q8_0
            int[][] shapes = t.blockSize() == 256 ? new int[][] {{1, 256}, {37, 256}, {13, 1024}, {300, 512}}
                    : new int[][] {{1, 64}, {37, 64}, {96, 256}, {13, 1152}, {300, 128}};
            for (int[] shape : shapes) {
                for (int n : new int[] {1, 3, 17}) {
                    b.add(Arguments.of(t, shape[0], shape[1], n));
                }
            }
        }
        return b.build();
    }

    /** A weight type the backend does not compute with is refused by name, never computed wrongly. */
    @Test
    void otherWeightTypesAreRefusedNamingTensorAndType() {
        for (GgmlType t : ALL_TYPES) {
            if (weightTypes().contains(t)) {
                continue;
            }
            GgufTensor w = TensorFactory.tensor("blk.0.ffn_up.weight", t, 4, 256, TensorFactory.random(new SplittableRandom(1), 4 * 256, 1f));
            UnsupportedTensorException e = org.junit.jupiter.api.Assertions.assertThrows(UnsupportedTensorException.class, () -> test.weight(w));
            assertTrue(e.getMessage().contains("blk.0.ffn_up.weight") && e.getMessage().contains(t.name()), e.getMessage());
        }
    }

    @ParameterizedTest(name = "{0} rows={1} cols={2} n={3}")
    @MethodSource("matmulShapes")
    void matmul(GgmlType type, int rows, int cols, int n) {
        SplittableRandom r = new SplittableRandom(rows * 31L + cols * 7L + n + type.ordinal());
        float[] wv = TensorFactory.random(r, rows * cols, 1f);
        GgufTensor t = TensorFactory.tensor("w", type, rows, cols, wv);
        float[] x = TensorFactory.random(r, n * cols, 2f);
        float[] want = run(oracle, t, x, rows, n);
        float[] got = run(test, t, x, rows, n);
        float[] w = TensorFactory.decode(t);
        for (int tok = 0; tok < n; tok++) {
            for (int row = 0; row < rows; row++) {
                double mag = 0;
                for (int c = 0; c < cols; c++) {
                    mag += Math.abs(w[row * cols + c] * x[tok * cols + c]);
                }
                double bound = MATMUL_REL * mag + 1e-5;
                double e = Math.abs(got[tok * rows + row] - want[tok * rows + row]);
                worstMatmul = Math.max(worstMatmul, e / bound);
                int fr = row;
                int ft = tok;
                assertTrue(e <= bound, () -> String.format(Locale.ROOT, "%s row %d token %d: got %.6f want %.6f (bound %.2e)", type, fr, ft, got[ft * rows + fr], want[ft * rows + fr], bound));
            }
        }
    }

    private static float[] run(Backend b, GgufTensor t, float[] x, int rows, int n) {
        Weight w = b.weight(t);
        Activations xa = b.allocate(x.length);
        Activations out = b.allocate(n * rows);
        b.write(x, 0, xa, 0, x.length);
        b.matmul(w, xa, out, n);
        float[] o = new float[n * rows];
        b.read(out, 0, o, 0, o.length);
        return o;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("embedTypes")
    void embed(GgmlType type) {
        SplittableRandom r = new SplittableRandom(5);
        int dim = type.blockSize() == 256 ? 256 : 64;
        GgufTensor t = TensorFactory.tensor("emb", type, 50, dim, TensorFactory.random(r, 50 * dim, 1f));
        int[] tokens = {3, 0, 49, 3, 17};
        float[][] res = new float[2][];
        Backend[] bs = {oracle, test};
        for (int i = 0; i < 2; i++) {
            Activations out = bs[i].allocate(tokens.length * dim);
            bs[i].embed(bs[i].weight(t), tokens, tokens.length, 2.5f, out);
            res[i] = new float[tokens.length * dim];
            bs[i].read(out, 0, res[i], 0, res[i].length);
        }
        assertClose(res[0], res[1], ELEMENTWISE_REL, "embed " + type);
    }

    Stream<GgmlType> embedTypes() {
        return ALL_TYPES.stream().filter(weightTypes()::contains);
    }

    @Test
    void rmsNormRowsAndPerHead() {
        SplittableRandom r = new SplittableRandom(11);
        for (int width : new int[] {64, 256, 1152, 40}) {
            int rows = 5;
            float[] x = TensorFactory.random(r, rows * width, 3f);
            GgufTensor g = TensorFactory.tensor("g", GgmlType.F32, 1, width, TensorFactory.random(r, width, 2f));
            float[][] res = new float[2][];
            Backend[] bs = {oracle, test};
            for (int i = 0; i < 2; i++) {
                Activations a = bs[i].allocate(x.length);
                bs[i].write(x, 0, a, 0, x.length);
                bs[i].rmsNorm(a, bs[i].weight(g), a, width, rows, 1e-6f);
                res[i] = new float[x.length];
                bs[i].read(a, 0, res[i], 0, x.length);
            }
            assertClose(res[0], res[1], ELEMENTWISE_REL, "rmsNorm width " + width);
        }
    }

    @Test
    void ropeBothStyles() {
        SplittableRandom r = new SplittableRandom(13);
        RopeSpec[] specs = {new RopeSpec(64, 10000f, 1f, true), new RopeSpec(64, 1e6f, 0.125f, true),
                new RopeSpec(8, 10000f, 1f, false), new RopeSpec(32, 10000f, 1f, false)};
        for (RopeSpec spec : specs) {
            int heads = 3;
            int n = 4;
            int hd = 64;
            float[] x = TensorFactory.random(r, n * heads * hd, 1f);
            float[][] res = new float[2][];
            Backend[] bs = {oracle, test};
            for (int i = 0; i < 2; i++) {
                Activations a = bs[i].allocate(x.length);
                bs[i].write(x, 0, a, 0, x.length);
                bs[i].rope(a, n, heads, hd, 1000, spec);
                res[i] = new float[x.length];
                bs[i].read(a, 0, res[i], 0, x.length);
            }
            assertClose(res[0], res[1], ELEMENTWISE_REL * 10, "rope " + spec);
        }
    }

    @Test
    void gatedActivationsAndAdd() {
        SplittableRandom r = new SplittableRandom(17);
        int n = 1000;
        float[] g = TensorFactory.random(r, n, 12f);
        float[] u = TensorFactory.random(r, n, 2f);
        for (String op : new String[] {"gelu", "silu", "add"}) {
            float[][] res = new float[2][];
            Backend[] bs = {oracle, test};
            for (int i = 0; i < 2; i++) {
                Activations ga = bs[i].allocate(n);
                Activations ua = bs[i].allocate(n);
                bs[i].write(g, 0, ga, 0, n);
                bs[i].write(u, 0, ua, 0, n);
                switch (op) {
                    case "gelu" -> bs[i].geluMul(ga, ua, n);
                    case "silu" -> bs[i].siluMul(ga, ua, n);
                    default -> bs[i].add(ga, ua, n);
                }
                res[i] = new float[n];
                bs[i].read(ga, 0, res[i], 0, n);
            }
            assertClose(res[0], res[1], ELEMENTWISE_REL, op);
        }
    }

    static Stream<Arguments> attentionCases() {
        // heads, kvHeads, dim, window, startPos, n, capacity, f16
        return Stream.of(
                Arguments.of(4, 1, 64, 0, 0, 7, 64, true),
                Arguments.of(4, 2, 32, 0, 20, 1, 64, false),
                Arguments.of(8, 8, 16, 0, 5, 17, 64, true),
                Arguments.of(4, 1, 64, 16, 40, 1, 16, true),    // ring: capacity == window, wrapped
                Arguments.of(2, 1, 32, 16, 50, 9, 24, true),    // ring with a batch: capacity window + n - 1
                Arguments.of(4, 2, 64, 32, 0, 40, 71, false),
                Arguments.of(4, 2, 32, 0, 10, 70, 96, true),    // 64+ queries: llama.cpp's float32 (tiled) path
                Arguments.of(2, 1, 64, 16, 0, 66, 81, true));
    }

    /**
     * Whether the backend computes attention over an f16 cache with the oracle's
     * flash-attention arithmetic (f16 value accumulator, {@code ScalarKernels.attendHeadFlashF16})
     * and its float32 path from 64 queries on; a backend that sums in float32 throughout is held to
     * the accumulator's rounding, 2^-11 of the largest value per attended position.
     */
    protected boolean flashF16Attention() {
        return true;
    }

    @ParameterizedTest(name = "heads={0}/{1} dim={2} window={3} start={4} n={5} cap={6} f16={7}")
    @MethodSource("attentionCases")
    void attention(int heads, int kvHeads, int dim, int window, int startPos, int n, int capacity, boolean f16) {
        SplittableRandom r = new SplittableRandom(heads * 100 + startPos);
        KvCacheSpec spec = new KvCacheSpec(new int[] {capacity}, kvHeads, dim, dim, f16);
        AttentionSpec as = new AttentionSpec(heads, kvHeads, dim, dim, (float) (1 / Math.sqrt(dim)), window, 0f);
        int total = startPos + n;
        float[] k = TensorFactory.random(r, total * kvHeads * dim, 2f);
        float[] v = TensorFactory.random(r, total * kvHeads * dim, 1f);
        float[] q = TensorFactory.random(r, n * heads * dim, 2f);
        float[][] res = new float[2][];
        Backend[] bs = {oracle, test};
        for (int i = 0; i < 2; i++) {
            Backend b = bs[i];
            try (KvCache cache = b.kvCache(spec)) {
                // fill the history in chunks no larger than the ring allows, then the batch itself
                int chunk = Math.max(1, capacity - (window > 0 ? window : 0) + 1);
                for (int p = 0; p < total; ) {
                    int len = p < startPos ? Math.min(chunk, startPos - p) : n;
                    Activations ka = b.allocate(len * kvHeads * dim);
                    Activations va = b.allocate(len * kvHeads * dim);
                    b.write(k, p * kvHeads * dim, ka, 0, len * kvHeads * dim);
                    b.write(v, p * kvHeads * dim, va, 0, len * kvHeads * dim);
                    b.kvStore(cache, 0, ka, va, p, len);
                    p += len;
                }
                Activations qa = b.allocate(q.length);
                b.write(q, 0, qa, 0, q.length);
                Activations out = b.allocate(n * heads * dim);
                b.attention(qa, cache, 0, startPos, n, as, out);
                res[i] = new float[n * heads * dim];
                b.read(out, 0, res[i], 0, res[i].length);
            }
        }
        if (!f16 || flashF16Attention()) {
            assertClose(res[0], res[1], MATMUL_REL, "attention");
            return;
        }
        // A backend that keeps float32 sums (and rounds the query to f16 whatever the batch) against
        // the oracle's f16 accumulator: each attended position may round the accumulator, 2^-11 of
        // the largest value, and an f16 query moves the scores by 2^-11 of their size.
        int span = window > 0 ? Math.min(window, startPos + n) : startPos + n;
        double vmax = 0;
        for (float x : v) {
            vmax = Math.max(vmax, Math.abs(x));
        }
        double tol = (span * Math.pow(2, -11) + Math.pow(2, -9)) * vmax;
        for (int i = 0; i < res[0].length; i++) {
            int fi = i;
            assertTrue(Math.abs(res[0][i] - res[1][i]) <= MATMUL_REL * Math.abs(res[0][i]) + tol,
                    () -> String.format(Locale.ROOT, "attention at %d: got %.7f want %.7f (bound %.2e)", fi, res[1][fi], res[0][fi], tol));
        }
    }

    @Test
    void copyReadWriteAreExact() {
        float[] x = TensorFactory.random(new SplittableRandom(3), 100, 5f);
        Activations a = test.allocate(100);
        Activations b = test.allocate(100);
        test.write(x, 0, a, 0, 100);
        test.copy(a, 10, b, 20, 50);
        float[] out = new float[50];
        test.read(b, 20, out, 0, 50);
        for (int i = 0; i < 50; i++) {
            assertTrue(out[i] == x[10 + i], "copy differs at " + i);
        }
    }

    static void assertClose(float[] want, float[] got, double rel, String what) {
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            double bound = rel * Math.max(Math.abs(want[i]), scale * 0.01) + 1e-6;
            int fi = i;
            assertTrue(Math.abs(want[i] - got[i]) <= bound,
                    () -> String.format(Locale.ROOT, "%s at %d: got %.7f want %.7f", what, fi, got[fi], want[fi]));
        }
    }
}
