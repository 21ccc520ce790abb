package dev.edgellm.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.util.WorkerPool;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The pieces the methods are made of: the clipping search, the Hessian algebra, GPTQ and GPTAQ's target. */
class QuantMathTest {
    private static final WorkerPool POOL = new WorkerPool(3, "test");
    private static final WorkerPool ONE = new WorkerPool(1, "test1");

    @AfterAll
    static void close() {
        POOL.close();
        ONE.close();
    }

    /** Inputs with correlated channels and a few loud ones, as real activations have. */
    private static float[] inputs(Random r, int tokens, int n) {
        float[] x = new float[tokens * n];
        for (int t = 0; t < tokens; t++) {
            double common = r.nextGaussian();
            for (int i = 0; i < n; i++) {
                double loud = i % 13 == 0 ? 4 : 1;
                x[t * n + i] = (float) (loud * (0.7 * r.nextGaussian() + 0.6 * common));
            }
        }
        return x;
    }

    private static float[] weights(Random r, int rows, int cols) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.05 * (i % 97 == 0 ? 6 : 1));
        }
        return w;
    }

    @Test
    void clippingSearchIsNeverWorseThanTheReferenceAndUsuallyBetter() {
        Random r = new Random(1);
        for (BlockGrid grid : BlockGrid.values()) {
            ScaleSearch s = new ScaleSearch(grid);
            int[] ref = new int[32];
            int[] mine = new int[32];
            float[] x = new float[32];
            float[] h = new float[32];
            double refTotal = 0;
            double mineTotal = 0;
            for (int b = 0; b < 2000; b++) {
                for (int j = 0; j < 32; j++) {
                    x[j] = (float) r.nextGaussian() * (j == b % 32 ? 3 : 1);
                    h[j] = (float) (0.1 + r.nextDouble() * (j % 5 == 0 ? 10 : 1));
                }
                float dr = grid.referenceBlock(x, 0, ref, 0);
                float dm = s.search(x, 0, h, 0, mine, 0);
                assertEquals(dm, Float.float16ToFloat(Float.floatToFloat16(dm)), "the scale is a float16 value");
                double er = ScaleSearch.error(x, 0, h, 0, dr, ref, 0);
                double em = ScaleSearch.error(x, 0, h, 0, dm, mine, 0);
                assertTrue(em <= er, grid + " block " + b + ": " + em + " > reference " + er);
                for (int j = 0; j < 32; j++) {
                    assertTrue(mine[j] >= grid.min() && mine[j] <= grid.max());
                }
                refTotal += er;
                mineTotal += em;
            }
            assertTrue(mineTotal < (grid == BlockGrid.Q4_0 ? 0.9 : 0.99) * refTotal, grid + ": " + mineTotal + " vs " + refTotal);
        }
    }

    @Test
    void hessianAccumulationDoesNotDependOnTheThreadCount() {
        Random r = new Random(2);
        int n = 48;
        float[] x = inputs(r, 300, n);
        Hessian a = new Hessian(n);
        Hessian b = new Hessian(n);
        a.add(x, 300, POOL);
        for (int t0 = 0; t0 < 300; t0 += 100) {
            float[] part = java.util.Arrays.copyOfRange(x, t0 * n, (t0 + 100) * n);
            b.add(part, 100, ONE);
        }
        Hessian c = new Hessian(n);
        for (int t0 = 0; t0 < 300; t0 += 100) {
            c.add(java.util.Arrays.copyOfRange(x, t0 * n, (t0 + 100) * n), 100, POOL);
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(b.get(i, j), c.get(i, j), "same batches, 1 vs 3 threads");
                assertEquals(a.get(i, j), b.get(i, j), 1e-3 * Math.abs(a.get(i, j)) + 1e-3);
            }
        }
        assertEquals(300, a.count());
    }

    @Test
    void inverseCholeskyFactorInvertsTheDampedHessian() {
        Random r = new Random(3);
        int n = 40;
        Hessian h = new Hessian(n);
        h.add(inputs(r, 200, n), 200, POOL);
        double damp = 0.01;
        float[] u = h.inverseCholeskyUpper(damp, POOL);
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += h.get(i, i);
        }
        mean /= n;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                assertEquals(0f, u[i * n + j], "upper triangular");
            }
            assertTrue(u[i * n + i] > 0);
        }
        // (U^T U) (H + damp I) = I
        double worst = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    double inv = 0;
                    for (int m = 0; m <= Math.min(i, k); m++) {
                        inv += (double) u[m * n + i] * u[m * n + k];
                    }
                    s += inv * (h.get(k, j) + (k == j ? damp * mean : 0));
                }
                worst = Math.max(worst, Math.abs(s - (i == j ? 1 : 0)));
            }
        }
        assertTrue(worst < 1e-3, "max deviation from identity " + worst);
    }

    @Test
    void gptqBeatsTheClippingSearchWhichBeatsRtnOnCorrelatedInputs() {
        Random r = new Random(4);
        int rows = 24;
        int cols = 96;
        float[] w = weights(r, rows, cols);
        Hessian h = new Hessian(cols);
        h.add(inputs(r, 600, cols), 600, POOL);
        InputStats stats = InputStats.symmetric(h);
        TensorQuantizer tq = new TensorQuantizer(POOL);
        double rtn = tq.quantize(BlockGrid.Q4_0, QuantMethod.RTN, w, rows, cols, stats, null).error();
        TensorQuantizer.Result clip = tq.quantize(BlockGrid.Q4_0, QuantMethod.CLIP, w, rows, cols, stats, null);
        TensorQuantizer.Result gptq = tq.quantize(BlockGrid.Q4_0, QuantMethod.GPTQ, w, rows, cols, stats, null);
        assertEquals(rtn, clip.rtnError(), 1e-12);
        assertTrue(clip.error() < rtn, "clip " + clip.error() + " vs rtn " + rtn);
        assertTrue(gptq.error() < 0.8 * clip.error(), "gptq " + gptq.error() + " vs clip " + clip.error());
        // the same bytes whatever the thread count: rows are independent
        TensorQuantizer single = new TensorQuantizer(ONE);
        assertArrayEquals(gptq.data(), single.quantize(BlockGrid.Q4_0, QuantMethod.GPTQ, w, rows, cols, stats, null).data());
        assertEquals(GgmlType.Q4_0.byteSize((long) rows * cols), gptq.data().length);
    }

    @Test
    void gptaqTargetIsTheWeightWhereBothStreamsAgreeAndCorrectsWhereTheyDiffer() {
        Random r = new Random(5);
        int rows = 8;
        int cols = 64;
        float[] w = weights(r, rows, cols);
        float[] xf = inputs(r, 400, cols);
        // the quantized model's inputs: the float ones with an error that depends on them
        float[] xq = xf.clone();
        for (int i = 0; i < xq.length; i++) {
            xq[i] = xq[i] * 0.97f + (float) (0.05 * r.nextGaussian());
        }
        Hessian hq = new Hessian(cols);
        hq.add(xq, 400, POOL);
        Hessian hf = new Hessian(cols);
        hf.add(xf, 400, POOL);
        CrossMoment same = new CrossMoment(cols);
        same.add(xq, 0, xq, 400, POOL);
        float[] u = hq.inverseCholeskyUpper(0.01, POOL);
        float[] t = same.target(w, rows, hq, u, POOL);
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i], t[i], 1e-4 * Math.abs(w[i]) + 1e-6, "identical streams: the target is W");
        }
        CrossMoment cross = new CrossMoment(cols);
        cross.add(xf, 0, xq, 400, POOL);
        InputStats asym = new InputStats(hq, cross, hf);
        float[] target = cross.target(w, rows, hq, u, POOL);
        // fed the quantized inputs, the target reproduces the float outputs better than W does
        double eTarget = asym.absoluteError(target, w, rows, POOL);
        double eW = asym.absoluteError(w, w, rows, POOL);
        assertTrue(eTarget < 0.7 * eW, "target " + eTarget + " vs W " + eW);
        TensorQuantizer tq = new TensorQuantizer(POOL);
        double gptq = tq.quantize(BlockGrid.Q4_0, QuantMethod.GPTQ, w, rows, cols, asym, null).error();
        double gptaq = tq.quantize(BlockGrid.Q4_0, QuantMethod.GPTAQ, w, rows, cols, asym, null).error();
        assertTrue(gptaq < gptq, "asymmetric error: gptaq " + gptaq + " vs gptq " + gptq);
    }
}
