package dev.edgellm.backend.vector;

import static dev.edgellm.core.tensor.Codecs.QK;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.backend.cpu.CpuBackend;
import dev.edgellm.core.backend.cpu.HostWeight;
import dev.edgellm.core.backend.scalar.ScalarKernels;
import dev.edgellm.core.backend.scalar.ScalarMatmul;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.util.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The SIMD CPU backend: {@link CpuBackend}'s host memory (float activations, the host KV cache)
 * with Vector API kernels.
 *
 * <ul>
 *   <li>Q4_0, Q5_0 and Q8_0 weights are repacked at load into row-interleaved groups the backend owns
 *       ({@link PackedWeight}; the mapped pages are dropped) and multiplied by integer kernels
 *       ({@link IntKernels}) against activations quantized to Q8_0 once per product: the scalar
 *       oracle's arithmetic, bit for bit. Row groups are split across the worker threads; a prompt
 *       batch meets each group four tokens at a time.
 *   <li>F16, BF16 and F32 weights are read in place from the mapping: row panels are decoded to
 *       floats once and multiplied by a 4x4 register-tiled micro-kernel ({@link Gemm}).
 *   <li>Attention is split over (token, head) pairs.
 * </ul>
 *
 * <p>Parallel loop bodies are fields (no capturing lambda per call) and scratch memory is reused,
 * so a forward pass allocates nothing once buffers have grown to the model's sizes.
 */
public final class VectorBackend extends CpuBackend {
    public static final String ID = "vector";
    /** Weight types with Vector API matrix kernels; the others go through {@link ScalarMatmul}. */
    static final java.util.Set<GgmlType> SIMD_TYPES = java.util.EnumSet.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q5_K,
            GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32);

    /** Minimum row groups per parallel chunk of a matrix-vector product. */
    private static final int MATVEC_GRAIN = 2;
    /**
     * Gated activations (GELU through a table, SiLU through exp: ~6 ns per element) over at least
     * this many floats are split across the threads: a decode step's 6,912-element FFN gate took
     * 45 us on one thread, 5 % of the step, against a few us to hand half to the other thread.
     */
    private static final int PARALLEL_ELEMENTS = 1 << 11;
    /** Activations of a batch are quantized on all threads from this many floats (64 tokens of 1,152: 74k). */
    private static final int PARALLEL_QUANTIZE = 1 << 14;

    /** Per-thread scratch of the parallel loop bodies; the growable arrays are never shrunk. */
    private static final class Scratch {
        final float[] sums = new float[Gemm.R * Gemm.T];
        final float[] red = new float[Gemm.R * Gemm.T * Simd.L];
        final float[] lanes = new float[Simd.L];
        private float[] panel = new float[0];
        private float[] scores = new float[0];
        private float[] qh = new float[0];
        private float[] acc = new float[0];
        private float[] tile = new float[0];

        float[] panel(int n) {
            return panel = atLeast(panel, n);
        }

        float[] scores(int n) {
            return scores = atLeast(scores, n);
        }

        float[] qh(int n) {
            return qh = atLeast(qh, n);
        }

        float[] acc(int n) {
            return acc = atLeast(acc, n);
        }

        float[] tile(int n) {
            return tile = atLeast(tile, n);
        }

        private static float[] atLeast(float[] a, int n) {
            return a.length < n ? new float[n] : a;
        }
    }

    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    // Activations converted for the weight type at hand; reused across calls: rounded floats for
    // float weights; for the integer kernels Q8_0 quants (widened; x4: in the Q4_0 kernels' form, for
    // Q4_0 weights), block scales and Q4_0 offsets.
    private float[] xs = new float[0];
    private short[] xq = new short[0];
    private short[] x4 = new short[0];
    private float[] xd = new float[0];
    private short[] xo = new short[0];
    /** Q5_0 kernels' operands ({@link Q5_0Kernels#OPS} per block) and half-block offsets ({@link Q5_0Kernels#operands}). */
    private short[] x5 = new short[0];
    private short[] xo5 = new short[0];

    // RoPE angles of the last call, reused when q and k of a layer rotate the same positions.
    private float[] ropeCos = new float[0];
    private float[] ropeSin = new float[0];
    private RopeSpec ropeSpec;
    private int ropeStart = -1;
    private int ropeCount;

    private final PackedTask packed = new PackedTask();
    /** Most weights one shared product takes (q, k, v). */
    private static final int MAX_SHARED = 4;
    private final PackedWeight[] shared = new PackedWeight[MAX_SHARED];
    private final float[][] sharedOut = new float[MAX_SHARED][];
    private final PackedWeight[] one = new PackedWeight[1];
    private final float[][] oneOut = new float[1][];
    private final QuantizeTask quantize = new QuantizeTask();
    /** Bytes of the live repacked weights. */
    private final AtomicLong packedBytes = new AtomicLong();
    /** Products for the weight types without a Vector API kernel yet (the oracle's, see {@link #matmul}). */
    private final ScalarMatmul scalarProducts = new ScalarMatmul();
    /** K-quant products ({@link KQuantKernels}). */
    private final KQuantProducts kProducts = new KQuantProducts();
    private final GemmTask gemm = new GemmTask();
    private final AttentionTask attention = new AttentionTask();
    private final GatedTask gated = new GatedTask();

    public VectorBackend(int threads) {
        super(ID, threads);
    }

    /** The pool, for the benchmarks in this package. */
    WorkerPool pool() {
        return pool;
    }

    // ---- weights ------------------------------------------------------------------------------------

    /**
     * Q4_0, Q5_0 and Q8_0 weights are repacked into this backend's own memory ({@link PackedWeight}: the
     * integer kernels' row-interleaved layout; the mapped pages are dropped); other types are read
     * in place from the mapping (copied to native memory first when they are not there, as in tests).
     */
    @Override
    public Weight weight(GgufTensor tensor) {
        if (PackedWeight.packs(tensor.type())) {
            return PackedWeight.of(tensor, pool, packedBytes);
        }
        if (PackedKWeight.packs(tensor.type())) {
            requireSupported(tensor);
            return PackedKWeight.of(tensor, pool, packedBytes);
        }
        HostWeight w = (HostWeight) super.weight(tensor);
        if (w.data().isNative()) {
            return w;
        }
        MemorySegment copy = Arena.ofAuto().allocate(w.data().byteSize(), 64);
        copy.copyFrom(w.data());
        return new HostWeight(tensor, copy, w.rowBytes());
    }

    /** Embedding rows of a repacked table are de-interleaved from their group. */
    @Override
    protected void decodeRow(Weight w, int row, float[] out, int off) {
        if (w instanceof PackedWeight p) {
            p.decodeRow(row, out, off);
        } else if (w instanceof PackedKWeight k) {
            k.decodeRow(row, out, off);
        } else {
            super.decodeRow(w, row, out, off);
        }
    }

    /** The repacked weights this backend holds (the rest lives on the Java heap or in the mapping). */
    @Override
    public long ownedBytes() {
        return packedBytes.get();
    }

    @Override
    protected float[] vector(Weight w) {
        return w instanceof PackedWeight p ? p.floats() : w instanceof PackedKWeight k ? k.floats() : super.vector(w);
    }

    // ---- matmul -------------------------------------------------------------------------------------

    /**
     * {@code out[t][r] = w[r] . x[t]}. Each (row, token) product is computed by the same
     * operations in the same order whatever {@code n} is: Q4_0/Q8_0 weights by the integer kernels
     * (the oracle's bits, see {@link IntKernels}), float types by {@link Gemm}'s arithmetic; decoding
     * token by token reproduces the batched prompt path bit for bit.
     */
    @Override
    public void matmul(Weight weight, Activations xa, Activations outa, int n) {
        float[] x = host(xa);
        float[] out = host(outa);
        if (weight instanceof PackedWeight w) {
            one[0] = w;
            oneOut[0] = out;
            packedProducts(one, 1, x, oneOut, n);
            return;
        }
        if (weight instanceof PackedKWeight k) {
            kProducts.run(k, x, out, n, pool);
            return;
        }
        HostWeight w = (HostWeight) weight;
        if (!SIMD_TYPES.contains(w.type())) {
            // Q4_1/Q5_1: the oracle's integer kernels, spread over the pool
            scalarProducts.run(w, x, out, n, pool);
            return;
        }
        int cols = w.cols();
        int rows = w.rows();
        // Row stride of the converted activations: zero-padded to whole vectors.
        int stride = Simd.roundUp(cols);
        float[] xin = prepare(w.type(), x, n, cols, stride);
        gemm.set(w, xin, stride, out, n);
        pool.parallelFor((rows + Gemm.R - 1) / Gemm.R, 1, gemm);
    }

    /**
     * Products of several repacked weights of one type and row length with the same activations
     * (q, k, v; gate, up): the activations are quantized once and all the weights' row groups are
     * one parallel pass. Other combinations take one product at a time.
     */
    @Override
    public void matmul(Weight[] ws, Activations xa, Activations[] outs, int n) {
        if (ws.length > MAX_SHARED || !(ws[0] instanceof PackedWeight first)) {
            super.matmul(ws, xa, outs, n);
            return;
        }
        for (int i = 0; i < ws.length; i++) {
            if (!(ws[i] instanceof PackedWeight p) || p.type() != first.type() || p.cols() != first.cols()) {
                super.matmul(ws, xa, outs, n);
                return;
            }
            shared[i] = p;
            sharedOut[i] = host(outs[i]);
        }
        packedProducts(shared, ws.length, host(xa), sharedOut, n);
    }

    /** {@code outs[i] = ws[i] . x} for the first {@code k} weights (repacked, one type and row length). */
    private void packedProducts(PackedWeight[] ws, int k, float[] x, float[][] outs, int n) {
        PackedWeight w = ws[0];
        int cols = w.cols();
        int total = Math.multiplyExact(n, cols);
        // each array grows when a product needs it: a Q4_0 model never allocates xq (its quants go
        // to x4 in the kernels' form), others never x4
        if (w.type() == GgmlType.Q4_0) {
            if (x4.length < total) {
                x4 = new short[total];
            }
        } else if (xq.length < total) {
            xq = new short[total];
        }
        if (xd.length < total / QK) {
            xd = new float[total / QK];
            xo = new short[total / QK];
        }
        if (w.type() == GgmlType.Q5_0 && x5.length < total / QK * Q5_0Kernels.OPS) {
            x5 = new short[total / QK * Q5_0Kernels.OPS];
            xo5 = new short[2 * (total / QK)];
        }
        quantize.set(x, cols, w.type());
        if (total < PARALLEL_QUANTIZE || n == 1 || pool.threads() == 1) {
            quantize.run(0, n);
        } else {
            pool.parallelFor(n, 1, quantize);
        }
        // decode: a task takes row groups; prompt batches: pairs of row groups (gemm2x4) times token
        // parts (tokenParts); the weights' units are numbered one after another
        int units = packed.set(ws, k, outs, n, pool.threads());
        pool.parallelFor(units, n == 1 ? MATVEC_GRAIN : 1, packed);
    }

    /** Units of a batched product per thread that {@link #tokenParts} aims at. */
    static final int UNITS_PER_THREAD = 32;

    /**
     * Token parts of a batched product over {@code pairs} pairs of row groups: enough units (pairs
     * times parts) for {@link #UNITS_PER_THREAD} per thread, so the parallel loop's last chunks are
     * small against the product and the first thread to finish waits little for the other (on the
     * 1B shape at 128 tokens a pair of the down projection is ~1 ms of work, and there are 18); at
     * most the batch's whole 4-token tiles. Only the split changes: every (row, token) value comes
     * from the same kernel over the same column chunks, so results do not depend on it.
     */
    static int tokenParts(int pairs, int n, int threads) {
        if (threads <= 1 || pairs <= 0) {
            return 1;
        }
        int want = (UNITS_PER_THREAD * threads + pairs - 1) / pairs;
        return Math.max(1, Math.min(n / 4, want));
    }

    /** Converts the activations for float {@code type}: f16/bf16-rounded, or f32, zero-padded to {@code stride}. */
    private float[] prepare(GgmlType type, float[] x, int n, int cols, int stride) {
        int total = Math.multiplyExact(n, stride);
        if (xs.length < total) {
            xs = new float[total];
        }
        for (int t = 0; t < n; t++) {
            switch (type) {
                case F16 -> VectorKernels.roundToF16(x, t * cols, xs, t * stride, cols);
                case BF16 -> VectorKernels.roundToBf16(x, t * cols, xs, t * stride, cols);
                case F32 -> System.arraycopy(x, t * cols, xs, t * stride, cols);
                default -> throw new IllegalStateException("unsupported weight type " + type);
            }
            Arrays.fill(xs, t * stride + cols, (t + 1) * stride, 0f);
        }
        return xs;
    }

    /**
     * Activations of tokens {@code [from, to)} to Q8_0 for the integer kernels (quants, scales, Q4_0
     * offsets, and the Q4_0 kernels' operand form); tokens are independent, so a batch is split
     * across the threads.
     */
    private final class QuantizeTask implements WorkerPool.RangeTask {
        private float[] x;
        private int cols;
        private GgmlType type;

        void set(float[] x, int cols, GgmlType type) {
            this.x = x;
            this.cols = cols;
            this.type = type;
        }

        @Override
        public void run(int from, int to) {
            for (int t = from; t < to; t++) {
                // Q4_0 takes the quants in its kernels' form (quantizeQ8_0's nibbleForm)
                VectorKernels.quantizeQ8_0(x, t * cols, cols, type == GgmlType.Q4_0 ? x4 : xq, xd, xo, type == GgmlType.Q4_0);
                if (type == GgmlType.Q5_0) {
                    Q5_0Kernels.operands(xq, t * cols, cols, x5, xo5);
                }
            }
        }
    }

    /**
     * Q4_0/Q8_0 products of a {@link PackedWeight}: for one token over row groups
     * {@code [from, to)} ({@code matvec*}); for a batch over units {@code [from, to)}, a unit being
     * a pair of row groups and a part of the batch's 4-token tiles ({@link #tokenParts}), each pair
     * meeting its part's tokens four at a time ({@code gemm2x4Q4_0Q8_0}, or {@code gemm4*} per
     * group); the tokens past the last whole tile one at a time ({@code matvec*}, with the last part).
     */
    private final class PackedTask implements WorkerPool.RangeTask {
        private PackedWeight[] ws;
        private float[][] outs;
        private int k;
        private int n;
        /** Token parts of a batch: a unit is one pair of row groups and one part ({@link #tokenParts}). */
        private int parts;
        /** {@code start[i]}: the first unit (row group, or pair of groups times part for a batch) of weight {@code i}. */
        private final int[] start = new int[MAX_SHARED + 1];

        /** Sets up a pass; returns the number of units. */
        int set(PackedWeight[] ws, int k, float[][] outs, int n, int threads) {
            this.ws = ws;
            this.outs = outs;
            this.k = k;
            this.n = n;
            int pairs = 0;
            for (int i = 0; i < k; i++) {
                pairs += (ws[i].groups() + 1) / 2;
            }
            this.parts = n == 1 ? 1 : tokenParts(pairs, n, threads);
            start[0] = 0;
            for (int i = 0; i < k; i++) {
                int groups = ws[i].groups();
                start[i + 1] = start[i] + (n == 1 ? groups : (groups + 1) / 2 * parts);
            }
            return start[k];
        }

        @Override
        public void run(int from, int to) {
            for (int i = 0; i < k; i++) {
                int a = Math.max(from, start[i]);
                int b = Math.min(to, start[i + 1]);
                if (a < b) {
                    runOne(ws[i], outs[i], a - start[i], b - start[i]);
                }
            }
        }

        /** The first token of token part {@code part} (of {@link #parts}) of a batch's {@code tiles} 4-token tiles. */
        private int firstToken(int part, int tiles) {
            return 4 * (part * tiles / parts);
        }

        /** Units {@code [from, to)} of weight {@code w} into {@code out} (called by several threads at once: no fields written). */
        private void runOne(PackedWeight w, float[] out, int from, int to) {
            long base = w.address();
            int blocks = w.blocks();
            long bb = w.blockBytes();
            int cols = w.cols();
            int rows = w.rows();
            boolean q4 = w.type() == GgmlType.Q4_0;
            boolean q5 = w.type() == GgmlType.Q5_0;
            short[] q = q4 ? x4 : q5 ? x5 : xq;
            float[] d = xd;
            short[] o = q5 ? xo5 : xo;
            if (n == 1) {
                if (q5) {
                    Q5_0Kernels.matvecQ5_0Q8_0(base, blocks, bb, q, 0, d, o, 0, out, 0, rows, from, to);
                } else if (q4) {
                    IntKernels.matvecQ4_0Q8_0(base, blocks, bb, q, 0, d, o, 0, out, 0, rows, from, to);
                } else {
                    IntKernels.matvecQ8_0Q8_0(base, blocks, bb, q, 0, d, 0, out, 0, rows, from, to);
                }
                return;
            }
            // prompt batches: units are (pair of row groups, token part), pair-major, so a range's
            // consecutive units reuse the pair's weights from cache; columns in chunks so a chunk's
            // activations for the batch stay in L2 while the units pass
            int groups = w.groups();
            int chunk = Gemm.chunk(cols) / QK;
            int tiles = n / 4;
            int parts = this.parts;
            // the tile kernels add each column chunk to out: start this range's rows and tokens at zero
            for (int unit = from; unit < to; unit++) {
                int pair = unit / parts;
                int part = unit % parts;
                int r0 = 2 * pair * Simd.R;
                int r1 = Math.min(rows, r0 + 2 * Simd.R);
                for (int t = firstToken(part, tiles); t < firstToken(part + 1, tiles); t++) {
                    java.util.Arrays.fill(out, t * rows + r0, t * rows + r1, 0f);
                }
            }
            for (int b0 = 0; b0 < blocks; b0 += chunk) {
                int b1 = Math.min(blocks, b0 + chunk);
                for (int unit = from; unit < to; unit++) {
                    int g = 2 * (unit / parts);
                    int part = unit % parts;
                    int g1 = Math.min(g + 2, groups);
                    for (int t = firstToken(part, tiles), tEnd = firstToken(part + 1, tiles); t < tEnd; t += 4) {
                        if (q4 && g + 1 < groups) {
                            IntKernels.gemm2x4Q4_0Q8_0(base, blocks, bb, cols, q, t * cols, d, o, t * blocks, out, t * rows, rows, g, b0, b1);
                            continue;
                        }
                        for (int h = g; h < g1; h++) {
                            if (q5) {
                                int ops = blocks * Q5_0Kernels.OPS;
                                Q5_0Kernels.gemm2Q5_0Q8_0(base, blocks, bb, q, t * ops, d, o, t * blocks, out, t * rows, rows, h, b0, b1);
                                Q5_0Kernels.gemm2Q5_0Q8_0(base, blocks, bb, q, (t + 2) * ops, d, o, (t + 2) * blocks, out, (t + 2) * rows,
                                        rows, h, b0, b1);
                            } else if (q4) {
                                IntKernels.gemm4Q4_0Q8_0(base, blocks, bb, cols, q, t * cols, d, o, t * blocks, out, t * rows, rows, h, b0, b1);
                            } else {
                                IntKernels.gemm4Q8_0Q8_0(base, blocks, bb, cols, q, t * cols, d, t * blocks, out, t * rows, rows, h, b0, b1);
                            }
                        }
                    }
                }
            }
            // tokens past the last whole 4-token tile, one at a time over all columns (the last part's)
            for (int unit = from; unit < to; unit++) {
                if (unit % parts != parts - 1) {
                    continue;
                }
                int g = 2 * (unit / parts);
                int g1 = Math.min(g + 2, groups);
                for (int t = 4 * tiles; t < n; t++) {
                    if (q5) {
                        Q5_0Kernels.matvecQ5_0Q8_0(base, blocks, bb, q, t * blocks * Q5_0Kernels.OPS, d, o, t * blocks, out, t * rows, rows, g, g1);
                    } else if (q4) {
                        IntKernels.matvecQ4_0Q8_0(base, blocks, bb, q, t * cols, d, o, t * blocks, out, t * rows, rows, g, g1);
                    } else {
                        IntKernels.matvecQ8_0Q8_0(base, blocks, bb, q, t * cols, d, t * blocks, out, t * rows, rows, g, g1);
                    }
                }
            }
        }
    }

    /**
     * Matrix-matrix over row panels {@code [from, to)} of {@link Gemm#R} rows: for each column
     * chunk ({@link Gemm#chunk}), decode the panel's rows to exact floats once, then run the
     * micro-kernels over the batch, {@link Gemm#T} tokens at a time; chunk values are added to the
     * outputs in chunk order, as the matrix-vector kernels do.
     */
    private final class GemmTask implements WorkerPool.RangeTask {
        private HostWeight w;
        private float[] x;
        private int stride;
        private float[] out;
        private int n;

        void set(HostWeight w, float[] x, int stride, float[] out, int n) {
            this.w = w;
            this.x = x;
            this.stride = stride;
            this.out = out;
            this.n = n;
        }

        @Override
        public void run(int from, int to) {
            final int R = Gemm.R;
            final int T = Gemm.T;
            Scratch s = scratch.get();
            float[] sums = s.sums;
            float[] red = s.red;
            long a = w.data().address();
            GgmlType type = w.type();
            long rb = w.rowBytes();
            int rows = w.rows();
            int cols = w.cols();
            int kc = Gemm.chunk(cols);
            int ps = Simd.roundUp(Math.min(kc, cols));       // panel row stride
            float[] panel = s.panel(R * ps);
            for (int c0 = 0; c0 < cols; c0 += kc) {
                int len = Math.min(kc, cols - c0);
                int plen = Simd.roundUp(len);
                boolean first = c0 == 0;
                for (int p = from; p < to; p++) {
                    int r0 = p * R;
                    int nr = Math.min(R, rows - r0);
                    for (int r = 0; r < R; r++) {
                        int off = r * ps;
                        if (r >= nr) {
                            Arrays.fill(panel, off, off + plen, 0f);
                            continue;
                        }
                        long row = a + (r0 + r) * rb;
                        switch (type) {
                            case F16 -> Gemm.decodeF16(row, c0, len, panel, off);
                            case BF16 -> Gemm.decodeBF16(row, c0, len, panel, off);
                            case F32 -> Gemm.decodeF32(row, c0, len, panel, off);
                            default -> throw new IllegalStateException("unsupported weight type " + type);
                        }
                        if (plen > len) {
                            Arrays.fill(panel, off + len, off + plen, 0f);
                        }
                    }
                    int t0 = 0;
                    for (; t0 + T <= n; t0 += T) {
                        Gemm.tile4x4(panel, 0, ps, x, t0 * stride + c0, stride, plen, red);
                        Simd.sums(red, R * T, sums);
                        for (int t = 0; t < T; t++) {
                            int o = (t0 + t) * rows + r0;
                            for (int r = 0; r < nr; r++) {
                                out[o + r] = first ? sums[r * T + t] : out[o + r] + sums[r * T + t];
                            }
                        }
                    }
                    for (; t0 < n; t0++) {
                        Gemm.tile4x1(panel, 0, ps, x, t0 * stride + c0, plen, red);
                        Simd.sums(red, R * T, sums);
                        int o = t0 * rows + r0;
                        for (int r = 0; r < nr; r++) {
                            out[o + r] = first ? sums[r * T] : out[o + r] + sums[r * T];
                        }
                    }
                }
            }
        }
    }

    // ---- norms, rope, element-wise ------------------------------------------------------------------

    @Override
    public void rmsNorm(Activations x, Weight weight, Activations out, int width, int rows, float eps) {
        VectorKernels.rmsNorm(host(x), host(out), vector(weight), width, 0, rows, eps);
    }

    @Override
    public void rope(Activations xa, int n, int heads, int headDim, int startPos, RopeSpec rope) {
        float[] x = host(xa);
        int half = rope.dims() / 2;
        if (!rope.equals(ropeSpec) || startPos != ropeStart || n > ropeCount) {
            computeAngles(rope, startPos, n);
        }
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                if (rope.neox()) {
                    VectorKernels.ropeNeox(x, o, half, ropeCos, ropeSin, t * half);
                } else {
                    VectorKernels.ropeNormal(x, o, half, ropeCos, ropeSin, t * half);
                }
            }
        }
    }

    /** cos/sin of every (token, pair) angle, computed as the oracle does (repeated multiplication). */
    private void computeAngles(RopeSpec rope, int startPos, int n) {
        int half = rope.dims() / 2;
        if (ropeCos.length < n * half) {
            ropeCos = new float[n * half];
            ropeSin = new float[n * half];
        }
        float thetaScale = (float) Math.pow(rope.freqBase(), -2.0 / rope.dims());
        for (int t = 0; t < n; t++) {
            float theta = startPos + t;
            for (int i = 0; i < half; i++) {
                float angle = rope.freqScale() * theta;
                ropeCos[t * half + i] = (float) Math.cos(angle);
                ropeSin[t * half + i] = (float) Math.sin(angle);
                theta *= thetaScale;
            }
        }
        ropeSpec = rope;
        ropeStart = startPos;
        ropeCount = n;
    }

    /** GELU through llama.cpp's f16 table: a gather, which the Vector API cannot do from a float index. */
    @Override
    public void geluMul(Activations gate, Activations up, int len) {
        gatedMul(true, host(gate), host(up), len);
    }

    /**
     * SiLU with the oracle's scalar {@code Math.exp}: the Vector API's {@code EXP} is a different
     * approximation in C2 (SVML) than in its Java fallback, so its bits would depend on the JIT tier
     * and, through the scalar tail, on how many tokens share a call.
     */
    @Override
    public void siluMul(Activations gate, Activations up, int len) {
        gatedMul(false, host(gate), host(up), len);
    }

    /** {@code gate = act(gate) * up}; large calls are split across threads (each element's value is independent of the split). */
    private void gatedMul(boolean gelu, float[] g, float[] u, int len) {
        if (len < PARALLEL_ELEMENTS || pool.threads() == 1) {
            GatedTask.apply(gelu, g, u, 0, len);
            return;
        }
        gated.set(gelu, g, u);
        pool.parallelFor(len, 1024, gated);
    }

    /** The oracle's scalar GELU or SiLU gate over a range of elements. */
    private static final class GatedTask implements WorkerPool.RangeTask {
        private boolean gelu;
        private float[] gate;
        private float[] up;

        void set(boolean gelu, float[] gate, float[] up) {
            this.gelu = gelu;
            this.gate = gate;
            this.up = up;
        }

        static void apply(boolean gelu, float[] gate, float[] up, int from, int to) {
            if (gelu) {
                ScalarKernels.geluMul(gate, up, from, to);
            } else {
                ScalarKernels.siluMul(gate, up, from, to);
            }
        }

        @Override
        public void run(int from, int to) {
            apply(gelu, gate, up, from, to);
        }
    }

    @Override
    public void add(Activations x, Activations y, int len) {
        VectorKernels.add(host(x), host(y), 0, len);
    }

    // ---- attention ----------------------------------------------------------------------------------
    @Override
    public KvCache kvCache(KvCacheSpec spec) {
        return new TiledKvCache(spec);
    }

    @Override
    public void kvStore(KvCache cache, int layer, Activations k, Activations v, int startPos, int n) {
        TiledKvCache c = (TiledKvCache) cache;
        float[] kk = host(k);
        float[] vv = host(v);
        int keyRow = c.spec().kvHeads() * c.spec().keyDim();
        for (int t = 0; t < n; t++) {
            c.store(layer, startPos + t, kk, t * keyRow, vv, t * c.valueRow());
        }
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations out) {
        TiledKvCache c = (TiledKvCache) cache;
        attention.set(host(q), c, layer, startPos, spec, host(out), c.spec().f16() && n < ScalarKernels.FLASH_TILE_QUERIES);
        int pairs = n * spec.heads();
        long span = spec.window() > 0 ? Math.min(spec.window(), startPos + n) : startPos + n;
        long work = pairs * span * (spec.keyDim() + spec.valueDim());
        if (work < 1 << 16 || pool.threads() == 1) {
            attention.run(0, pairs);
        } else {
            pool.parallelFor(pairs, 1, attention);
        }
    }

    /** Attention of (token, head) pairs {@code [from, to)}: pair {@code i} is token {@code i / heads}, head {@code i % heads} ({@link TiledAttention}). */
    private final class AttentionTask implements WorkerPool.RangeTask {
        private float[] q;
        private TiledKvCache cache;
        private int layer;
        private int startPos;
        private AttentionSpec spec;
        private float[] out;
        /** llama.cpp's small-batch flash arithmetic (f16 cache, fewer than 64 queries). */
        private boolean flash;

        void set(float[] q, TiledKvCache cache, int layer, int startPos, AttentionSpec spec, float[] out, boolean flash) {
            this.q = q;
            this.cache = cache;
            this.layer = layer;
            this.startPos = startPos;
            this.spec = spec;
            this.out = out;
            this.flash = flash;
        }

        @Override
        public void run(int from, int to) {
            Scratch s = scratch.get();
            int heads = spec.heads();
            int kd = spec.keyDim();
            int vd = spec.valueDim();
            int group = heads / spec.kvHeads();
            float[] qh = s.qh(kd);
            float[] acc = s.acc(vd);
            float[] tile = s.tile(kd * Simd.L);
            for (int i = from; i < to; i++) {
                int t = i / heads;
                int h = i % heads;
                int pos = startPos + t;
                float[] scores = s.scores(spec.window() > 0 ? Math.min(spec.window(), pos + 1) : pos + 1);
                TiledAttention.attend(cache, layer, q, (t * heads + h) * kd, pos, h / group, spec, flash, out, (t * heads + h) * vd,
                        qh, s.lanes, tile, scores, acc);
            }
        }
    }
}
