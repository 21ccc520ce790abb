package dev.edgellm.backend.vector;

import static dev.edgellm.core.tensor.KQuants.QK_K;
import static dev.edgellm.core.tensor.KQuants.Q8_K_SUMS;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.tensor.KQuants;
import dev.edgellm.core.util.WorkerPool;

/**
 * Matrix products of the K-quant weights ({@link PackedKWeight}) on the worker pool: activations
 * are quantized to Q8_K once per product (the oracle's quantizer, {@link KQuants#quantizeQ8_K}),
 * then row groups are split across the threads and each group runs {@link KQuantKernels} for
 * every token of the call. A group's weights (at most 27 super-blocks x 152 bytes x R rows for a
 * 6,912-column row: ~130 KB at 512 bits) stay in L2 while the tokens of a prompt batch pass over
 * them, so a batch reads the weights from memory once. Each (row, token) product is the same
 * kernel on the same data whatever the batch or the thread split: the oracle's bits.
 *
 * <p>Holds the quantized activations between calls: one product at a time per instance. Loop
 * bodies are fields and scratch is per thread, so a product allocates nothing once grown.
 */
final class KQuantProducts {
    /** Activations of a batch are quantized on all threads from this many floats. */
    private static final int PARALLEL_QUANTIZE = 1 << 14;

    private byte[] xq = new byte[0];
    private float[] xd = new float[0];
    private short[] xs = new short[0];
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final QuantizeTask quantize = new QuantizeTask();
    private final GroupTask groups = new GroupTask();

    /** Per-thread scratch of the kernels: the eight class accumulators and the widened scales of a group. */
    private static final class Scratch {
        final float[] acc = new float[8 * Simd.R];
        final int[] scl = new int[16 * Simd.R];
    }

    /** {@code out[t][r] = w[r] . x[t]} for {@code t < n}. */
    void run(PackedKWeight w, float[] x, float[] out, int n, WorkerPool pool) {
        int cols = w.cols();
        int total = Math.multiplyExact(n, cols);
        if (xq.length < total) {
            xq = new byte[total];
            xd = new float[total / QK_K];
            xs = new short[total / 16];
        }
        quantize.set(x, cols);
        if (total < PARALLEL_QUANTIZE || n == 1 || pool.threads() == 1) {
            quantize.run(0, n);
        } else {
            pool.parallelFor(n, 1, quantize);
        }
        groups.set(w, out, n);
        pool.parallelFor(w.groups(), n == 1 ? 2 : 1, groups);
    }

    /** Tokens {@code [from, to)} to Q8_K. */
    private final class QuantizeTask implements WorkerPool.RangeTask {
        private float[] x;
        private int cols;

        void set(float[] x, int cols) {
            this.x = x;
            this.cols = cols;
        }

        @Override
        public void run(int from, int to) {
            int blocks = cols / QK_K;
            for (int t = from; t < to; t++) {
                KQuants.quantizeQ8_K(x, t * cols, cols, xd, t * blocks, xq, t * cols, xs, t * blocks * Q8_K_SUMS);
            }
        }
    }

    /** Row groups {@code [from, to)}, each against every token of the call. */
    private final class GroupTask implements WorkerPool.RangeTask {
        private PackedKWeight w;
        private float[] out;
        private int n;

        void set(PackedKWeight w, float[] out, int n) {
            this.w = w;
            this.out = out;
            this.n = n;
        }

        @Override
        public void run(int from, int to) {
            Scratch s = scratch.get();
            long base = w.address();
            int blocks = w.superBlocks();
            long bb = w.blockBytes();
            int cols = w.cols();
            int rows = w.rows();
            GgmlType type = w.type();
            if (n == 1) {
                kernel(type, base, blocks, bb, 0, 0, 0, rows, from, to, s);
                return;
            }
            for (int g = from; g < to; g++) {
                for (int t = 0; t < n; t++) {
                    kernel(type, base, blocks, bb, t * cols, t * blocks, t * rows, rows, g, g + 1, s);
                }
            }
        }

        private void kernel(GgmlType type, long base, int blocks, long bb, int x0, int s0, int o0, int rows, int g0, int g1, Scratch s) {
            switch (type) {
                case Q4_K -> KQuantKernels.matvecQ4_KQ8_K(base, blocks, bb, xq, x0, xd, xs, s0, out, o0, rows, g0, g1, s.acc, s.scl);
                case Q5_K -> KQuantKernels.matvecQ5_KQ8_K(base, blocks, bb, xq, x0, xd, xs, s0, out, o0, rows, g0, g1, s.acc, s.scl);
                case Q6_K -> KQuantKernels.matvecQ6_KQ8_K(base, blocks, bb, xq, x0, xd, s0, out, o0, rows, g0, g1, s.acc, s.scl);
                default -> throw new IllegalStateException("not a K-quant weight: " + type);
            }
        }
    }
}
