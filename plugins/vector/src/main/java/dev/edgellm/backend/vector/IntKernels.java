package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.ALL;
import static dev.edgellm.backend.vector.Simd.BR;
import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.I;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.R;
import static dev.edgellm.backend.vector.Simd.S;
import static dev.edgellm.core.tensor.Codecs.QK;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Integer kernels for Q4_0 and Q8_0 weights repacked into {@link Simd#R}-row groups
 * ({@link PackedWeight}), against activations quantized to Q8_0: each lane of a short vector is
 * one row, so one vector operation advances {@code R} rows by one column.
 *
 * <h2>Arithmetic: exactly the oracle's</h2>
 * For every (row, token) pair and block {@code b}, the block's integer dot product
 * {@code isum = sum_j w_j * a_j} ({@code w_j = nibble - 8} for Q4_0, the signed quant for Q8_0;
 * {@code a_j} the activation's int8 quant) is computed exactly, then
 * {@code acc = acc + (float) isum * (d_w * d_a)} in float, blocks in order from {@code acc = 0}:
 * the very operations of {@code ScalarKernels.dotQ4_0Q8_0}/{@code dotQ8_0Q8_0} (and llama.cpp's
 * {@code vec_dot_q4_0_q8_0} up to its float accumulation order). So the results are the scalar
 * oracle's bits, whatever the species, the batch or the thread split.
 * <ul>
 *   <li><b>Q4_0</b> sums in 16-bit lanes: the lane starts at {@code -8 * sum_j a_j} (the nibbles'
 *       offset, per activation block) and adds {@code lo_j * a_j + hi_j * a_{j+16}} for the 16
 *       bytes {@code v_j = lo_j + 16 hi_j}, computed without masking the low nibble as
 *       {@code v_j * a_j + hi_j * (a_{j+16} - 16 a_j)}: the caller passes the activations in that
 *       form ({@link VectorKernels#quantizeQ8_0}'s {@code nibbleForm}). Intermediate values may
 *       wrap, but the final value lies within +-32,512 (|a| <= 127), so 16-bit modular arithmetic
 *       gives it exactly.
 *   <li><b>Q8_0</b> products {@code w * a} fit 16 bits (|w| <= 128, |a| <= 127) and so do sums of
 *       two; pairs are widened to 32-bit lanes and added there.
 *   <li><b>Scales</b>: the fp16 weight scale's bits are moved into a float's ({@code sign | (h &
 *       0x7fff) << 13}), which is {@code d_w * 2^-112} exactly (fp16 subnormals included), and
 *       multiplied by {@code d_a * 2^112} (exact: a power-of-two scaling that cannot overflow for
 *       an fp16 {@code d_a}): one rounding of the real product {@code d_w * d_a}, as the oracle's
 *       {@code d_w * d_a}.
 * </ul>
 *
 * <p>Matrix-vector ({@code matvec*}, one token) and matrix-matrix ({@code gemm4*}, four tokens
 * sharing each widened weight vector) compute the same values; the caller runs whole 4-token tiles
 * through {@code gemm4*} and the rest through {@code matvec*}.
 *
 * <h2>Written out on purpose</h2>
 * Each kernel spells out its vector operations instead of calling small helpers, and stays larger
 * than C2's inlining size: a vector helper that C2 does not inline (past
 * {@code NodeCountInliningCutoff}, which a kernel inlined into its caller reaches) boxes every vector
 * it takes or returns, which allocated ~20 MB per decoded token and ran several times slower. Only
 * the partial last group's masked store is a call. Measure with a JFR allocation profile after any
 * change here: a forward pass must allocate (almost) nothing.
 */
final class IntKernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** {@code 2^112}: rebias of an fp16 exponent moved into a float. */
    static final float P112 = 0x1p112f;
    /** Keeps the sign and the fp16 magnitude of a sign-extended fp16 shifted left by 13. */
    private static final int F16_BITS = 0x8FFFE000;
    /**
     * Constant vectors that start the tile kernels' chains of vector operations. C2 inlines a vector
     * operation without a type profile only when its receiver's class is exact at parse time: a
     * constant, or the result of an operation on such a receiver. Loop-carried accumulators are not
     * (a loop phi is typed by the abstract class). So the gemm kernels root those chains in a constant
     * ({@code ZS.broadcast(x)}, {@code ZS.or(acc)}) and pass accumulators only as arguments
     * ({@code y.mul(v).add(acc)}, {@code NEG_ZERO.add(acc).intoArray(..)}). Without this, whether a
     * kernel compiled to vector code or to boxed fallbacks (10-30x slower) depended on which call
     * sites the interpreter had profiled before C2 compiled it: prompt processing on the 1B shape
     * varied from 5 to 146 tokens/s from run to run. The weight loads of the inner loops need no
     * root: a load through a constant species is of its final vector class, and so is its widening
     * ({@code -XX:+PrintInlining} shows the widening and the nibble shift bound statically, no type
     * profile), and a root there cost two vector operations per 64 weights: prompt processing on
     * the 1B shape ran 131 against 150 tokens/s with them (six interleaved runs). The decode
     * kernels ({@code matvec*}) are rooted the same way: unrooted, {@code matvecQ4_0Q8_0} came out
     * with boxed fallbacks in one JVM of seven once the prompt path also called it for the last
     * block's last token (a 1B prompt at 61 tokens/s, JFR: {@code ShortVector.lanewiseTemplate} and
     * {@code add} under it). A 32-bit accumulator takes the widened sums as its receiver
     * ({@code pair.convertShape(S2I..).add(c)}: free), and a loop's result is rooted once per block
     * ({@code ZI.or(c)}, {@code ZS.or(lo)}). An accumulator starts from an operation's result
     * ({@code IntVector.zero(I)}, {@code ZS.broadcast(x)}), never from a constant vector itself: a
     * loop phi that merges a constant object with vector results cannot be unboxed, and every
     * iteration then allocated (decode at 4 tokens/s).
     */
    /** {@code x * 2^13} is {@code x << 13}: moves an fp16's bits to a float's (see Scales above). */
    private static final IntVector F16_SHIFT = IntVector.broadcast(I, 1 << 13);
    /** Roots for exact-typed broadcasts ({@code ZS.broadcast(x)}) and accumulators ({@code ZS.or(acc)}). */
    private static final ShortVector ZS = ShortVector.zero(S);
    private static final IntVector ZI = IntVector.zero(I);
    private static final FloatVector ZF = FloatVector.zero(F);
    /** {@code -0.0f + x == x} for every float, -0.0 included. */
    private static final FloatVector NEG_ZERO = FloatVector.broadcast(F, -0.0f);
    /** Float lane groups per short vector. */
    private static final int PARTS = 2;

    private IntKernels() {}

    /**
     * Stores a group's {@code R} results for one token (two float vectors) at {@code out[o..]},
     * only the {@code n} real rows (the last group may be partial).
     */
    static void store(FloatVector a0, FloatVector a1, float[] out, int o, int n) {
        if (n == R) {
            a0.intoArray(out, o);
            a1.intoArray(out, o + L);
        } else {
            a0.intoArray(out, o, F.indexInRange(0, n));
            a1.intoArray(out, o + L, F.indexInRange(L, n));
        }
    }

    // ---- Q4_0 ---------------------------------------------------------------------------------------

    /**
     * One token: rows of groups {@code [g0, g1)} of the Q4_0 weight at {@code base} ({@code blocks}
     * block columns, records of {@code bb} bytes) dotted with activation quants {@code xq[x0..]} (in
     * the form of {@link VectorKernels#quantizeQ8_0}'s {@code nibbleForm}),
     * scales {@code xd[s0..]} and offsets {@code xo[s0..]} ({@code -8 * sum} per block); row
     * {@code r}'s result to {@code out[o0 + r]} for {@code r < rows}.
     */
    static void matvecQ4_0Q8_0(long base, int blocks, long bb, short[] xq, int x0, float[] xd, short[] xo, int s0,
                                float[] out, int o0, int rows, int g0, int g1) {
        for (int g = g0; g < g1; g++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            long p = base + (long) g * blocks * bb;
            for (int b = 0; b < blocks; b++, p += bb) {
                ShortVector lo = ZS.broadcast(xo[s0 + b]);
                ShortVector hi = ShortVector.zero(S);
                int q = x0 + b * QK;
                long w = p + 2L * R;
                for (int j = 0; j < 16; j++, w += R) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                    lo = ZS.broadcast(xq[q + j]).mul(v).add(lo);
                    hi = ZS.broadcast(xq[q + j + 16]).mul(v.lanewise(VectorOperators.LSHR, 4)).add(hi);
                }
                ShortVector isum = ZS.or(lo).add(hi);
                ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
                float m = xd[s0 + b] * P112;
                FloatVector d0 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                        .reinterpretAsFloats();
                FloatVector d1 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                        .reinterpretAsFloats();
                a0 = ZF.broadcast(m).mul(d0).mul((FloatVector) isum.convertShape(VectorOperators.S2F, F, 0)).add(a0);
                a1 = ZF.broadcast(m).mul(d1).mul((FloatVector) isum.convertShape(VectorOperators.S2F, F, 1)).add(a1);
            }
            int n = Math.min(R, rows - g * R);
            int o = o0 + g * R;
            if (n == R) {
                NEG_ZERO.add(a0).intoArray(out, o);
                NEG_ZERO.add(a1).intoArray(out, o + L);
            } else {
                NEG_ZERO.add(a0).intoArray(out, o, F.indexInRange(0, n));
                NEG_ZERO.add(a1).intoArray(out, o + L, F.indexInRange(L, n));
            }
        }
    }

    /**
     * Four tokens at once against group {@code g} (each widened weight vector is used four times):
     * token {@code t}'s activations at {@code xq[x0 + t*cols ..]}, its block values at
     * {@code xd/xo[s0 + t*blocks ..]}, its results at {@code out[o0 + t*rows + ..]}.
     */
    static void gemm4Q4_0Q8_0(long base, int blocks, long bb, int cols, short[] xq, int x0, float[] xd, short[] xo, int s0,
                               float[] out, int o0, int rows, int g, int b0, int b1) {
        // blocks [b0, b1): a column chunk; the sums so far are in out (zeroed by the caller before the
        // first chunk: a branch here let C2 recompile the kernel after an uncommon trap with boxed vectors)
        int an = Math.min(R, rows - (g) * R);
        int ao = o0 + (g) * R;
        VectorMask<Float> am0 = F.indexInRange(0, an);
        VectorMask<Float> am1 = F.indexInRange(L, an);
        FloatVector a00 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 0 * rows, am0));
        FloatVector a01 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 0 * rows + L, am1));
        FloatVector a10 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 1 * rows, am0));
        FloatVector a11 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 1 * rows + L, am1));
        FloatVector a20 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 2 * rows, am0));
        FloatVector a21 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 2 * rows + L, am1));
        FloatVector a30 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 3 * rows, am0));
        FloatVector a31 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 3 * rows + L, am1));
        long p = base + ((long) g * blocks + b0) * bb;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        int s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        for (int b = b0; b < b1; b++, p += bb) {
            ShortVector c0 = ZS.broadcast(xo[s0 + b]);
            ShortVector c1 = ZS.broadcast(xo[s1 + b]);
            ShortVector c2 = ZS.broadcast(xo[s2 + b]);
            ShortVector c3 = ZS.broadcast(xo[s3 + b]);
            int q = b * QK;
            long w = p + 2L * R;
            for (int j = 0; j < 16; j++, w += R) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                ShortVector hi = v.lanewise(VectorOperators.LSHR, 4);
                int k = q + j;
                c0 = ZS.broadcast(xq[x0 + k]).mul(v).add(ZS.broadcast(xq[x0 + k + 16]).mul(hi)).add(c0);
                c1 = ZS.broadcast(xq[x1 + k]).mul(v).add(ZS.broadcast(xq[x1 + k + 16]).mul(hi)).add(c1);
                c2 = ZS.broadcast(xq[x2 + k]).mul(v).add(ZS.broadcast(xq[x2 + k + 16]).mul(hi)).add(c2);
                c3 = ZS.broadcast(xq[x3 + k]).mul(v).add(ZS.broadcast(xq[x3 + k + 16]).mul(hi)).add(c3);
            }
            ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
            FloatVector d0 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                    .reinterpretAsFloats();
            FloatVector d1 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                    .reinterpretAsFloats();
            float m0 = xd[s0 + b] * P112, m1 = xd[s1 + b] * P112, m2 = xd[s2 + b] * P112, m3 = xd[s3 + b] * P112;
            a00 = ZF.broadcast(m0).mul(d0).mul((FloatVector) ZS.or(c0).convertShape(VectorOperators.S2F, F, 0)).add(a00);
            a01 = ZF.broadcast(m0).mul(d1).mul((FloatVector) ZS.or(c0).convertShape(VectorOperators.S2F, F, 1)).add(a01);
            a10 = ZF.broadcast(m1).mul(d0).mul((FloatVector) ZS.or(c1).convertShape(VectorOperators.S2F, F, 0)).add(a10);
            a11 = ZF.broadcast(m1).mul(d1).mul((FloatVector) ZS.or(c1).convertShape(VectorOperators.S2F, F, 1)).add(a11);
            a20 = ZF.broadcast(m2).mul(d0).mul((FloatVector) ZS.or(c2).convertShape(VectorOperators.S2F, F, 0)).add(a20);
            a21 = ZF.broadcast(m2).mul(d1).mul((FloatVector) ZS.or(c2).convertShape(VectorOperators.S2F, F, 1)).add(a21);
            a30 = ZF.broadcast(m3).mul(d0).mul((FloatVector) ZS.or(c3).convertShape(VectorOperators.S2F, F, 0)).add(a30);
            a31 = ZF.broadcast(m3).mul(d1).mul((FloatVector) ZS.or(c3).convertShape(VectorOperators.S2F, F, 1)).add(a31);
        }
        int n = an;
        int o = ao;
        if (n == R) {
            NEG_ZERO.add(a00).intoArray(out, o);
            NEG_ZERO.add(a01).intoArray(out, o + L);
            NEG_ZERO.add(a10).intoArray(out, o + rows);
            NEG_ZERO.add(a11).intoArray(out, o + rows + L);
            NEG_ZERO.add(a20).intoArray(out, o + 2 * rows);
            NEG_ZERO.add(a21).intoArray(out, o + 2 * rows + L);
            NEG_ZERO.add(a30).intoArray(out, o + 3 * rows);
            NEG_ZERO.add(a31).intoArray(out, o + 3 * rows + L);
        } else {
            store(NEG_ZERO.add(a00), NEG_ZERO.add(a01), out, o, n);
            store(NEG_ZERO.add(a10), NEG_ZERO.add(a11), out, o + rows, n);
            store(NEG_ZERO.add(a20), NEG_ZERO.add(a21), out, o + 2 * rows, n);
            store(NEG_ZERO.add(a30), NEG_ZERO.add(a31), out, o + 3 * rows, n);
        }
    }

    /**
     * {@link #gemm4Q4_0Q8_0} for two adjacent groups {@code g} and {@code g + 1} (64 rows at 512 bits)
     * at once: each pair of activation broadcasts serves both groups, and each token's activations
     * are read once for twice the rows (a quarter fewer vector operations per product, and half the
     * activation traffic, which matters for long rows whose activations outgrow L1). Same values.
     * Both groups must exist; the last one may be partial.
     */
    static void gemm2x4Q4_0Q8_0(long base, int blocks, long bb, int cols, short[] xq, int x0, float[] xd, short[] xo, int s0,
                                 float[] out, int o0, int rows, int g, int b0, int b1) {
        // blocks [b0, b1): a column chunk; the sums so far are in out (zeroed by the caller before the
        // first chunk: a branch here let C2 recompile the kernel after an uncommon trap with boxed vectors)
        int an = Math.min(R, rows - (g) * R);
        int ao = o0 + (g) * R;
        VectorMask<Float> am0 = F.indexInRange(0, an);
        VectorMask<Float> am1 = F.indexInRange(L, an);
        FloatVector a00 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 0 * rows, am0));
        FloatVector a01 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 0 * rows + L, am1));
        FloatVector a10 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 1 * rows, am0));
        FloatVector a11 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 1 * rows + L, am1));
        FloatVector a20 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 2 * rows, am0));
        FloatVector a21 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 2 * rows + L, am1));
        FloatVector a30 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 3 * rows, am0));
        FloatVector a31 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 3 * rows + L, am1));
        int bn = Math.min(R, rows - (g + 1) * R);
        int bo = o0 + (g + 1) * R;
        VectorMask<Float> bm0 = F.indexInRange(0, bn);
        VectorMask<Float> bm1 = F.indexInRange(L, bn);
        FloatVector b00 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 0 * rows, bm0));
        FloatVector b01 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 0 * rows + L, bm1));
        FloatVector b10 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 1 * rows, bm0));
        FloatVector b11 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 1 * rows + L, bm1));
        FloatVector b20 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 2 * rows, bm0));
        FloatVector b21 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 2 * rows + L, bm1));
        FloatVector b30 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 3 * rows, bm0));
        FloatVector b31 = NEG_ZERO.add(FloatVector.fromArray(F, out, bo + 3 * rows + L, bm1));
        long p = base + ((long) g * blocks + b0) * bb;
        long pn = p + (long) blocks * bb;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        int s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        for (int b = b0; b < b1; b++, p += bb, pn += bb) {
            ShortVector c0 = ZS.broadcast(xo[s0 + b]);
            ShortVector c1 = ZS.broadcast(xo[s1 + b]);
            ShortVector c2 = ZS.broadcast(xo[s2 + b]);
            ShortVector c3 = ZS.broadcast(xo[s3 + b]);
            ShortVector e0 = c0, e1 = c1, e2 = c2, e3 = c3;
            int q = b * QK;
            long w = p + 2L * R;
            long wn = pn + 2L * R;
            for (int j = 0; j < 16; j++, w += R, wn += R) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                ShortVector u = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, wn, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                ShortVector vh = v.lanewise(VectorOperators.LSHR, 4);
                ShortVector uh = u.lanewise(VectorOperators.LSHR, 4);
                int k = q + j;
                ShortVector y = ZS.broadcast(xq[x0 + k]);
                ShortVector z = ZS.broadcast(xq[x0 + k + 16]);
                c0 = y.mul(v).add(z.mul(vh)).add(c0);
                e0 = y.mul(u).add(z.mul(uh)).add(e0);
                y = ZS.broadcast(xq[x1 + k]);
                z = ZS.broadcast(xq[x1 + k + 16]);
                c1 = y.mul(v).add(z.mul(vh)).add(c1);
                e1 = y.mul(u).add(z.mul(uh)).add(e1);
                y = ZS.broadcast(xq[x2 + k]);
                z = ZS.broadcast(xq[x2 + k + 16]);
                c2 = y.mul(v).add(z.mul(vh)).add(c2);
                e2 = y.mul(u).add(z.mul(uh)).add(e2);
                y = ZS.broadcast(xq[x3 + k]);
                z = ZS.broadcast(xq[x3 + k + 16]);
                c3 = y.mul(v).add(z.mul(vh)).add(c3);
                e3 = y.mul(u).add(z.mul(uh)).add(e3);
            }
            ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
            ShortVector sn = ShortVector.fromMemorySegment(S, ALL, pn, LE);
            FloatVector d0 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                    .reinterpretAsFloats();
            FloatVector d1 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                    .reinterpretAsFloats();
            FloatVector f0 = F16_SHIFT.mul((IntVector) sn.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                    .reinterpretAsFloats();
            FloatVector f1 = F16_SHIFT.mul((IntVector) sn.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                    .reinterpretAsFloats();
            float m0 = xd[s0 + b] * P112, m1 = xd[s1 + b] * P112, m2 = xd[s2 + b] * P112, m3 = xd[s3 + b] * P112;
            a00 = ZF.broadcast(m0).mul(d0).mul((FloatVector) ZS.or(c0).convertShape(VectorOperators.S2F, F, 0)).add(a00);
            a01 = ZF.broadcast(m0).mul(d1).mul((FloatVector) ZS.or(c0).convertShape(VectorOperators.S2F, F, 1)).add(a01);
            a10 = ZF.broadcast(m1).mul(d0).mul((FloatVector) ZS.or(c1).convertShape(VectorOperators.S2F, F, 0)).add(a10);
            a11 = ZF.broadcast(m1).mul(d1).mul((FloatVector) ZS.or(c1).convertShape(VectorOperators.S2F, F, 1)).add(a11);
            a20 = ZF.broadcast(m2).mul(d0).mul((FloatVector) ZS.or(c2).convertShape(VectorOperators.S2F, F, 0)).add(a20);
            a21 = ZF.broadcast(m2).mul(d1).mul((FloatVector) ZS.or(c2).convertShape(VectorOperators.S2F, F, 1)).add(a21);
            a30 = ZF.broadcast(m3).mul(d0).mul((FloatVector) ZS.or(c3).convertShape(VectorOperators.S2F, F, 0)).add(a30);
            a31 = ZF.broadcast(m3).mul(d1).mul((FloatVector) ZS.or(c3).convertShape(VectorOperators.S2F, F, 1)).add(a31);
            b00 = ZF.broadcast(m0).mul(f0).mul((FloatVector) ZS.or(e0).convertShape(VectorOperators.S2F, F, 0)).add(b00);
            b01 = ZF.broadcast(m0).mul(f1).mul((FloatVector) ZS.or(e0).convertShape(VectorOperators.S2F, F, 1)).add(b01);
            b10 = ZF.broadcast(m1).mul(f0).mul((FloatVector) ZS.or(e1).convertShape(VectorOperators.S2F, F, 0)).add(b10);
            b11 = ZF.broadcast(m1).mul(f1).mul((FloatVector) ZS.or(e1).convertShape(VectorOperators.S2F, F, 1)).add(b11);
            b20 = ZF.broadcast(m2).mul(f0).mul((FloatVector) ZS.or(e2).convertShape(VectorOperators.S2F, F, 0)).add(b20);
            b21 = ZF.broadcast(m2).mul(f1).mul((FloatVector) ZS.or(e2).convertShape(VectorOperators.S2F, F, 1)).add(b21);
            b30 = ZF.broadcast(m3).mul(f0).mul((FloatVector) ZS.or(e3).convertShape(VectorOperators.S2F, F, 0)).add(b30);
            b31 = ZF.broadcast(m3).mul(f1).mul((FloatVector) ZS.or(e3).convertShape(VectorOperators.S2F, F, 1)).add(b31);
        }
        int o = ao;
        NEG_ZERO.add(a00).intoArray(out, o);
        NEG_ZERO.add(a01).intoArray(out, o + L);
        NEG_ZERO.add(a10).intoArray(out, o + rows);
        NEG_ZERO.add(a11).intoArray(out, o + rows + L);
        NEG_ZERO.add(a20).intoArray(out, o + 2 * rows);
        NEG_ZERO.add(a21).intoArray(out, o + 2 * rows + L);
        NEG_ZERO.add(a30).intoArray(out, o + 3 * rows);
        NEG_ZERO.add(a31).intoArray(out, o + 3 * rows + L);
        int n = bn;
        o = bo;
        if (n == R) {
            NEG_ZERO.add(b00).intoArray(out, o);
            NEG_ZERO.add(b01).intoArray(out, o + L);
            NEG_ZERO.add(b10).intoArray(out, o + rows);
            NEG_ZERO.add(b11).intoArray(out, o + rows + L);
            NEG_ZERO.add(b20).intoArray(out, o + 2 * rows);
            NEG_ZERO.add(b21).intoArray(out, o + 2 * rows + L);
            NEG_ZERO.add(b30).intoArray(out, o + 3 * rows);
            NEG_ZERO.add(b31).intoArray(out, o + 3 * rows + L);
        } else {
            store(NEG_ZERO.add(b00), NEG_ZERO.add(b01), out, o, n);
            store(NEG_ZERO.add(b10), NEG_ZERO.add(b11), out, o + rows, n);
            store(NEG_ZERO.add(b20), NEG_ZERO.add(b21), out, o + 2 * rows, n);
            store(NEG_ZERO.add(b30), NEG_ZERO.add(b31), out, o + 3 * rows, n);
        }
    }

    // ---- Q8_0 ---------------------------------------------------------------------------------------

    /** {@link #matvecQ4_0Q8_0} for Q8_0 weights (no offsets: the quants are signed). */
    static void matvecQ8_0Q8_0(long base, int blocks, long bb, short[] xq, int x0, float[] xd, int s0,
                                float[] out, int o0, int rows, int g0, int g1) {
        for (int g = g0; g < g1; g++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            long p = base + (long) g * blocks * bb;
            for (int b = 0; b < blocks; b++, p += bb) {
                IntVector c0 = IntVector.zero(I);
                IntVector c1 = IntVector.zero(I);
                int q = x0 + b * QK;
                long w = p + 2L * R;
                for (int j = 0; j < QK; j += 2, w += 2L * R) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w, LE).convertShape(VectorOperators.B2S, S, 0);
                    ShortVector u = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w + R, LE).convertShape(VectorOperators.B2S, S, 0);
                    ShortVector pair = ZS.broadcast(xq[q + j]).mul(v).add(ZS.broadcast(xq[q + j + 1]).mul(u));
                    c0 = ((IntVector) pair.convertShape(VectorOperators.S2I, I, 0)).add(c0);
                    c1 = ((IntVector) pair.convertShape(VectorOperators.S2I, I, 1)).add(c1);
                }
                ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
                float m = xd[s0 + b] * P112;
                FloatVector d0 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                        .reinterpretAsFloats();
                FloatVector d1 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                        .reinterpretAsFloats();
                a0 = ZF.broadcast(m).mul(d0).mul((FloatVector) ZI.or(c0).convert(VectorOperators.I2F, 0)).add(a0);
                a1 = ZF.broadcast(m).mul(d1).mul((FloatVector) ZI.or(c1).convert(VectorOperators.I2F, 0)).add(a1);
            }
            int n = Math.min(R, rows - g * R);
            int o = o0 + g * R;
            if (n == R) {
                NEG_ZERO.add(a0).intoArray(out, o);
                NEG_ZERO.add(a1).intoArray(out, o + L);
            } else {
                NEG_ZERO.add(a0).intoArray(out, o, F.indexInRange(0, n));
                NEG_ZERO.add(a1).intoArray(out, o + L, F.indexInRange(L, n));
            }
        }
    }

    /** {@link #gemm4Q4_0Q8_0} for Q8_0 weights. */
    static void gemm4Q8_0Q8_0(long base, int blocks, long bb, int cols, short[] xq, int x0, float[] xd, int s0,
                               float[] out, int o0, int rows, int g, int b0, int b1) {
        // blocks [b0, b1): a column chunk; the sums so far are in out (zeroed by the caller before the
        // first chunk: a branch here let C2 recompile the kernel after an uncommon trap with boxed vectors)
        int an = Math.min(R, rows - (g) * R);
        int ao = o0 + (g) * R;
        VectorMask<Float> am0 = F.indexInRange(0, an);
        VectorMask<Float> am1 = F.indexInRange(L, an);
        FloatVector a00 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 0 * rows, am0));
        FloatVector a01 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 0 * rows + L, am1));
        FloatVector a10 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 1 * rows, am0));
        FloatVector a11 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 1 * rows + L, am1));
        FloatVector a20 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 2 * rows, am0));
        FloatVector a21 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 2 * rows + L, am1));
        FloatVector a30 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 3 * rows, am0));
        FloatVector a31 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + 3 * rows + L, am1));
        long p = base + ((long) g * blocks + b0) * bb;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        int s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        for (int b = b0; b < b1; b++, p += bb) {
            IntVector c00 = IntVector.zero(I), c01 = IntVector.zero(I), c10 = IntVector.zero(I), c11 = IntVector.zero(I);
            IntVector c20 = IntVector.zero(I), c21 = IntVector.zero(I), c30 = IntVector.zero(I), c31 = IntVector.zero(I);
            int q = b * QK;
            long w = p + 2L * R;
            for (int j = 0; j < QK; j += 2, w += 2L * R) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w, LE).convertShape(VectorOperators.B2S, S, 0);
                ShortVector u = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w + R, LE).convertShape(VectorOperators.B2S, S, 0);
                int k = q + j;
                ShortVector p0 = ZS.broadcast(xq[x0 + k]).mul(v).add(ZS.broadcast(xq[x0 + k + 1]).mul(u));
                ShortVector p1 = ZS.broadcast(xq[x1 + k]).mul(v).add(ZS.broadcast(xq[x1 + k + 1]).mul(u));
                ShortVector p2 = ZS.broadcast(xq[x2 + k]).mul(v).add(ZS.broadcast(xq[x2 + k + 1]).mul(u));
                ShortVector p3 = ZS.broadcast(xq[x3 + k]).mul(v).add(ZS.broadcast(xq[x3 + k + 1]).mul(u));
                c00 = ((IntVector) p0.convertShape(VectorOperators.S2I, I, 0)).add(c00);
                c01 = ((IntVector) p0.convertShape(VectorOperators.S2I, I, 1)).add(c01);
                c10 = ((IntVector) p1.convertShape(VectorOperators.S2I, I, 0)).add(c10);
                c11 = ((IntVector) p1.convertShape(VectorOperators.S2I, I, 1)).add(c11);
                c20 = ((IntVector) p2.convertShape(VectorOperators.S2I, I, 0)).add(c20);
                c21 = ((IntVector) p2.convertShape(VectorOperators.S2I, I, 1)).add(c21);
                c30 = ((IntVector) p3.convertShape(VectorOperators.S2I, I, 0)).add(c30);
                c31 = ((IntVector) p3.convertShape(VectorOperators.S2I, I, 1)).add(c31);
            }
            ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
            FloatVector d0 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                    .reinterpretAsFloats();
            FloatVector d1 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                    .reinterpretAsFloats();
            float m0 = xd[s0 + b] * P112, m1 = xd[s1 + b] * P112, m2 = xd[s2 + b] * P112, m3 = xd[s3 + b] * P112;
            a00 = ZF.broadcast(m0).mul(d0).mul((FloatVector) ZI.or(c00).convert(VectorOperators.I2F, 0)).add(a00);
            a01 = ZF.broadcast(m0).mul(d1).mul((FloatVector) ZI.or(c01).convert(VectorOperators.I2F, 0)).add(a01);
            a10 = ZF.broadcast(m1).mul(d0).mul((FloatVector) ZI.or(c10).convert(VectorOperators.I2F, 0)).add(a10);
            a11 = ZF.broadcast(m1).mul(d1).mul((FloatVector) ZI.or(c11).convert(VectorOperators.I2F, 0)).add(a11);
            a20 = ZF.broadcast(m2).mul(d0).mul((FloatVector) ZI.or(c20).convert(VectorOperators.I2F, 0)).add(a20);
            a21 = ZF.broadcast(m2).mul(d1).mul((FloatVector) ZI.or(c21).convert(VectorOperators.I2F, 0)).add(a21);
            a30 = ZF.broadcast(m3).mul(d0).mul((FloatVector) ZI.or(c30).convert(VectorOperators.I2F, 0)).add(a30);
            a31 = ZF.broadcast(m3).mul(d1).mul((FloatVector) ZI.or(c31).convert(VectorOperators.I2F, 0)).add(a31);
        }
        int n = an;
        int o = ao;
        if (n == R) {
            NEG_ZERO.add(a00).intoArray(out, o);
            NEG_ZERO.add(a01).intoArray(out, o + L);
            NEG_ZERO.add(a10).intoArray(out, o + rows);
            NEG_ZERO.add(a11).intoArray(out, o + rows + L);
            NEG_ZERO.add(a20).intoArray(out, o + 2 * rows);
            NEG_ZERO.add(a21).intoArray(out, o + 2 * rows + L);
            NEG_ZERO.add(a30).intoArray(out, o + 3 * rows);
            NEG_ZERO.add(a31).intoArray(out, o + 3 * rows + L);
        } else {
            store(NEG_ZERO.add(a00), NEG_ZERO.add(a01), out, o, n);
            store(NEG_ZERO.add(a10), NEG_ZERO.add(a11), out, o + rows, n);
            store(NEG_ZERO.add(a20), NEG_ZERO.add(a21), out, o + 2 * rows, n);
            store(NEG_ZERO.add(a30), NEG_ZERO.add(a31), out, o + 3 * rows, n);
        }
    }

    static {
        if (R != PARTS * L) {
            throw new AssertionError("a short vector must hold exactly two float vectors' lanes");
        }
    }
}
