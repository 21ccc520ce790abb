package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.ALL;
import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.I;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.R;
import static dev.edgellm.backend.vector.Simd.S;
import static dev.edgellm.core.tensor.Codecs.QK;

import dev.edgellm.core.tensor.LegacyQuants;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Integer kernels for Q5_0 weights repacked into {@link Simd#R}-row groups ({@link PackedWeight})
 * against activations quantized to Q8_0, as llama.cpp pairs them ({@code vec_dot_q5_0_q8_0}).
 *
 * <h2>Layout: the file's 22 bytes per row and block</h2>
 * A block's 32 five-bit quants {@code q_k} (nibble and fifth bit, 0..31) are 160 bits: ten
 * 16-bit words per row, each holding three whole quants and one bit of a split one. A group's
 * block record is the R rows' fp16 scales, then ten planes of R little-endian shorts, plane
 * {@code i} holding for each row
 * <pre>
 *   bits  0..4   q_(3i)        bits 10..14  q_(3i+2)
 *   bits  5..9   q_(3i+1)      bit  15      bit (i mod 5) of q_(30 + i/5)
 * </pre>
 * so planes 0..4 carry quants 0..14 and 30, planes 5..9 quants 15..29 and 31: 2 + 20 bytes per row,
 * exactly what the file's block holds ({@link #pack} moves the bits at load).
 *
 * <h2>Arithmetic: exactly the oracle's</h2>
 * {@code isum = sum_k (q_k - 16) a_k} is computed exactly and then
 * {@code acc = acc + (float) isum * (d_w * d_a)}, blocks in order, as
 * {@code ScalarKernels.dotQ5_0Q8_0} does. A word {@code s} with fields {@code f0} (bits 0..4),
 * {@code f1} (5..9), {@code f2} (10..14), {@code f3} (bit 15), whose wanted contribution is
 * {@code f0 t0 + f1 t1 + f2 t2 + f3 t3} ({@code t} the activations, {@code t3 = 2^m a_(30|31)} for
 * bit {@code m} of a split quant), is summed as
 * <pre>
 *   s * c0  +  (s >>> 5) * c1  +  (s >>> 10) * c2  +  ((s >> 15) &amp; c3),    c0 = t0, c_i = t_i - 32 t_(i-1)
 * </pre>
 * (each shifted word still holds the fields above; the coefficients telescope so that every field
 * meets its own activation: {@code 32^i c0 + 32^(i-1) c1 + ... + c_i = t_i}). The activations are
 * passed in that form ({@link #operands}: four shorts per word, 40 per block). All of it runs in
 * 16-bit lanes: intermediate values wrap, but each plane half's sum is started from its offset
 * {@code -16 * sum a} over its 16 quants, so its final value is {@code sum (q_k - 16) a_k} over 16
 * elements, within +-32,512 for {@code |a| <= 127} (what {@code quantizeQ8_0} produces: an
 * activation of -128 could reach +32,768, which would wrap), and 16-bit modular arithmetic gives
 * it exactly. The two halves are converted to float and added: integers below 2^24, so the sum is
 * {@code (float) isum} exactly. Scales as in {@link IntKernels}.
 *
 * <p>Per word (three and a fraction weights of R rows): one load, three shifts, three multiplies,
 * one AND and four adds, 12 vector operations, about 120 per block against 96 for the earlier
 * 34-byte layout (a short per quant pair) and 112 for Q4_0: a third fewer bytes for a quarter more
 * operations.
 *
 * <p>Kernels are written out (no vector helpers) for the reason given in {@link IntKernels}.
 */
final class Q5_0Kernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int F16_BITS = 0x8FFFE000;
    private static final float P112 = IntKernels.P112;
    /** 16-bit words per row and block. */
    static final int WORDS = 10;
    /** Operand shorts per activation block ({@link #operands}): four per word. */
    static final int OPS = 4 * WORDS;
    /** Roots of the kernels' chains of vector operations, as in {@link IntKernels} (see there why). */
    private static final ShortVector ZS = ShortVector.zero(S);
    private static final FloatVector ZF = FloatVector.zero(F);
    private static final FloatVector NEG_ZERO = FloatVector.broadcast(F, -0.0f);
    private static final IntVector F16_SHIFT = IntVector.broadcast(I, 1 << 13);

    private Q5_0Kernels() {}

    /**
     * Writes the record of one block column for the {@code nr} ggml rows at {@code in[r * rb + i]}
     * into {@code out[o..]} (R scales, then ten planes of R words); rows past {@code nr} are zero.
     */
    static void pack(byte[] in, int rb, int i, int nr, byte[] out, int o) {
        for (int r = 0; r < R; r++) {
            int sc = o + 2 * r;
            if (r >= nr) {
                out[sc] = 0;
                out[sc + 1] = 0;
                for (int w = 0; w < WORDS; w++) {
                    int at = o + 2 * R + 2 * (w * R + r);
                    out[at] = 0;
                    out[at + 1] = 0;
                }
                continue;
            }
            int b = r * rb + i;
            out[sc] = in[b];
            out[sc + 1] = in[b + 1];
            int qh = (in[b + LegacyQuants.Q5_0_QH] & 0xFF) | (in[b + LegacyQuants.Q5_0_QH + 1] & 0xFF) << 8
                    | (in[b + LegacyQuants.Q5_0_QH + 2] & 0xFF) << 16 | (in[b + LegacyQuants.Q5_0_QH + 3] & 0xFF) << 24;
            int q30 = quant(in, b, qh, 30);
            int q31 = quant(in, b, qh, 31);
            for (int w = 0; w < WORDS; w++) {
                int split = w < 5 ? q30 >>> w : q31 >>> (w - 5);
                int word = quant(in, b, qh, 3 * w) | quant(in, b, qh, 3 * w + 1) << 5 | quant(in, b, qh, 3 * w + 2) << 10 | (split & 1) << 15;
                int at = o + 2 * R + 2 * (w * R + r);
                out[at] = (byte) word;
                out[at + 1] = (byte) (word >>> 8);
            }
        }
    }

    /** The five-bit quant {@code k} (0..31) of the ggml Q5_0 block at {@code in[b..]} with fifth bits {@code qh}. */
    private static int quant(byte[] in, int b, int qh, int k) {
        int packed = in[b + LegacyQuants.Q5_0_QS + (k & 15)] & 0xFF;
        int nibble = k < 16 ? packed & 0x0F : packed >>> 4;
        return nibble | ((qh >>> k) & 1) << 4;
    }

    /**
     * The kernels' form of Q8_0 activation quants {@code xq[from, from+n)} (whole blocks): block
     * {@code b}'s 40 operands at {@code x5[b * OPS ..]}, for word {@code w} the four coefficients
     * {@code c0..c3} of the class comment, and the two plane halves' offsets
     * {@code xo5[2b] = -16 * (a_0 + ... + a_14 + a_30)}, {@code xo5[2b+1] = -16 * (a_15 + ... + a_29 + a_31)}.
     */
    static void operands(short[] xq, int from, int n, short[] x5, short[] xo5) {
        for (int e = from; e < from + n; e += QK) {
            int blk = e / QK;
            int o = blk * OPS;
            int s0 = xq[e + 30];
            int s1 = xq[e + 31];
            for (int w = 0; w < WORDS; w++) {
                int t0 = xq[e + 3 * w];
                int t1 = xq[e + 3 * w + 1];
                int t2 = xq[e + 3 * w + 2];
                int t3 = w < 5 ? xq[e + 30] << w : xq[e + 31] << (w - 5);
                x5[o + 4 * w] = (short) t0;
                x5[o + 4 * w + 1] = (short) (t1 - 32 * t0);
                x5[o + 4 * w + 2] = (short) (t2 - 32 * t1);
                x5[o + 4 * w + 3] = (short) (t3 - 32 * t2);
                if (w < 5) {
                    s0 += t0 + t1 + t2;
                } else {
                    s1 += t0 + t1 + t2;
                }
            }
            xo5[2 * blk] = (short) (-16 * s0);
            xo5[2 * blk + 1] = (short) (-16 * s1);
        }
    }

    /**
     * One token: rows of groups {@code [g0, g1)} of the Q5_0 weight at {@code base} ({@code blocks}
     * block columns, records of {@code bb} bytes) dotted with activations {@code x5[x0..]} (the form of
     * {@link #operands}, {@link #OPS} per block), scales {@code xd[s0..]} and offsets {@code xo5[2*s0..]};
     * row {@code r}'s result to {@code out[o0 + r]} for {@code r < rows}.
     */
    static void matvecQ5_0Q8_0(long base, int blocks, long bb, short[] x5, int x0, float[] xd, short[] xo5, int s0,
                                float[] out, int o0, int rows, int g0, int g1) {
        for (int g = g0; g < g1; g++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            long p = base + (long) g * blocks * bb;
            for (int b = 0; b < blocks; b++, p += bb) {
                ShortVector c = ZS.broadcast(xo5[2 * (s0 + b)]);
                ShortVector e = ZS.broadcast(xo5[2 * (s0 + b) + 1]);
                int q = x0 + b * OPS;
                long w = p + 2L * R;
                for (int i = 0; i < 5; i++, w += 2L * R, q += 4) {
                    ShortVector v = ShortVector.fromMemorySegment(S, ALL, w, LE);
                    ShortVector u = ShortVector.fromMemorySegment(S, ALL, w + 10L * R, LE);
                    c = ZS.broadcast(x5[q]).mul(v).add(ZS.broadcast(x5[q + 1]).mul(v.lanewise(VectorOperators.LSHR, 5)))
                            .add(ZS.broadcast(x5[q + 2]).mul(v.lanewise(VectorOperators.LSHR, 10)).add(v.lanewise(VectorOperators.ASHR, 15).and(x5[q + 3])))
                            .add(c);
                    e = ZS.broadcast(x5[q + 20]).mul(u).add(ZS.broadcast(x5[q + 21]).mul(u.lanewise(VectorOperators.LSHR, 5)))
                            .add(ZS.broadcast(x5[q + 22]).mul(u.lanewise(VectorOperators.LSHR, 10)).add(u.lanewise(VectorOperators.ASHR, 15).and(x5[q + 23])))
                            .add(e);
                }
                ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
                float m = xd[s0 + b] * P112;
                FloatVector d0 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                        .reinterpretAsFloats();
                FloatVector d1 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                        .reinterpretAsFloats();
                ShortVector cc = ZS.or(c);
                ShortVector ee = ZS.or(e);
                FloatVector i0 = NEG_ZERO.add((FloatVector) cc.convertShape(VectorOperators.S2F, F, 0)).add((FloatVector) ee.convertShape(VectorOperators.S2F, F, 0));
                FloatVector i1 = NEG_ZERO.add((FloatVector) cc.convertShape(VectorOperators.S2F, F, 1)).add((FloatVector) ee.convertShape(VectorOperators.S2F, F, 1));
                a0 = ZF.broadcast(m).mul(d0).mul(i0).add(a0);
                a1 = ZF.broadcast(m).mul(d1).mul(i1).add(a1);
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
     * Two tokens at once against group {@code g}, blocks {@code [b0, b1)} (a column chunk; the sums
     * so far are in {@code out}, which the caller zeroes before the first chunk): token {@code t}'s
     * operands at {@code x5[x0 + t*blocks*OPS ..]}, its block values at {@code xd[s0 + t*blocks ..]}
     * and {@code xo5[2*(s0 + t*blocks) ..]}, its results at {@code out[o0 + t*rows + ..]}. Each
     * loaded and shifted word serves both tokens (20 vector operations per word for the two). Two,
     * not four: four would save a tenth of the operations per token, but a four-token version of the
     * earlier layout was compiled by C2 with boxed vectors, and one of this layout, allocation-free
     * once C2 had it, allocated ~330 MB per 9-token product at 128 bits when C1 was not kept away
     * from it ({@link JitDirectives}); this one allocates nothing at 512, 256 and 128 bits either way.
     */
    static void gemm2Q5_0Q8_0(long base, int blocks, long bb, short[] x5, int x0, float[] xd, short[] xo5, int s0,
                               float[] out, int o0, int rows, int g, int b0, int b1) {
        // no branch on the first chunk: a branch here let C2 recompile the kernel after an uncommon
        // trap with boxed vectors (see IntKernels.gemm4Q4_0Q8_0)
        int an = Math.min(R, rows - g * R);
        int ao = o0 + g * R;
        VectorMask<Float> am0 = F.indexInRange(0, an);
        VectorMask<Float> am1 = F.indexInRange(L, an);
        FloatVector a00 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao, am0));
        FloatVector a01 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + L, am1));
        FloatVector a10 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + rows, am0));
        FloatVector a11 = NEG_ZERO.add(FloatVector.fromArray(F, out, ao + rows + L, am1));
        long p = base + ((long) g * blocks + b0) * bb;
        int x1 = x0 + blocks * OPS;
        int s1 = s0 + blocks;
        for (int b = b0; b < b1; b++, p += bb) {
            ShortVector c0 = ZS.broadcast(xo5[2 * (s0 + b)]);
            ShortVector c1 = ZS.broadcast(xo5[2 * (s1 + b)]);
            ShortVector e0 = ZS.broadcast(xo5[2 * (s0 + b) + 1]);
            ShortVector e1 = ZS.broadcast(xo5[2 * (s1 + b) + 1]);
            int q = b * OPS;
            long w = p + 2L * R;
            for (int i = 0; i < 5; i++, w += 2L * R, q += 4) {
                ShortVector v = ShortVector.fromMemorySegment(S, ALL, w, LE);
                ShortVector v5 = v.lanewise(VectorOperators.LSHR, 5);
                ShortVector v10 = v.lanewise(VectorOperators.LSHR, 10);
                ShortVector v15 = v.lanewise(VectorOperators.ASHR, 15);
                int k = x0 + q;
                c0 = ZS.broadcast(x5[k]).mul(v).add(ZS.broadcast(x5[k + 1]).mul(v5)).add(ZS.broadcast(x5[k + 2]).mul(v10).add(v15.and(x5[k + 3]))).add(c0);
                k = x1 + q;
                c1 = ZS.broadcast(x5[k]).mul(v).add(ZS.broadcast(x5[k + 1]).mul(v5)).add(ZS.broadcast(x5[k + 2]).mul(v10).add(v15.and(x5[k + 3]))).add(c1);
                ShortVector u = ShortVector.fromMemorySegment(S, ALL, w + 10L * R, LE);
                ShortVector u5 = u.lanewise(VectorOperators.LSHR, 5);
                ShortVector u10 = u.lanewise(VectorOperators.LSHR, 10);
                ShortVector u15 = u.lanewise(VectorOperators.ASHR, 15);
                k = x0 + q + 20;
                e0 = ZS.broadcast(x5[k]).mul(u).add(ZS.broadcast(x5[k + 1]).mul(u5)).add(ZS.broadcast(x5[k + 2]).mul(u10).add(u15.and(x5[k + 3]))).add(e0);
                k = x1 + q + 20;
                e1 = ZS.broadcast(x5[k]).mul(u).add(ZS.broadcast(x5[k + 1]).mul(u5)).add(ZS.broadcast(x5[k + 2]).mul(u10).add(u15.and(x5[k + 3]))).add(e1);
            }
            ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
            FloatVector d0 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).and(F16_BITS)
                    .reinterpretAsFloats();
            FloatVector d1 = F16_SHIFT.mul((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).and(F16_BITS)
                    .reinterpretAsFloats();
            float m0 = xd[s0 + b] * P112, m1 = xd[s1 + b] * P112;
            ShortVector cc0 = ZS.or(c0), ee0 = ZS.or(e0), cc1 = ZS.or(c1), ee1 = ZS.or(e1);
            a00 = ZF.broadcast(m0).mul(d0).mul(NEG_ZERO.add((FloatVector) cc0.convertShape(VectorOperators.S2F, F, 0)).add((FloatVector) ee0.convertShape(VectorOperators.S2F, F, 0))).add(a00);
            a01 = ZF.broadcast(m0).mul(d1).mul(NEG_ZERO.add((FloatVector) cc0.convertShape(VectorOperators.S2F, F, 1)).add((FloatVector) ee0.convertShape(VectorOperators.S2F, F, 1))).add(a01);
            a10 = ZF.broadcast(m1).mul(d0).mul(NEG_ZERO.add((FloatVector) cc1.convertShape(VectorOperators.S2F, F, 0)).add((FloatVector) ee1.convertShape(VectorOperators.S2F, F, 0))).add(a10);
            a11 = ZF.broadcast(m1).mul(d1).mul(NEG_ZERO.add((FloatVector) cc1.convertShape(VectorOperators.S2F, F, 1)).add((FloatVector) ee1.convertShape(VectorOperators.S2F, F, 1))).add(a11);
        }
        if (an == R) {
            NEG_ZERO.add(a00).intoArray(out, ao);
            NEG_ZERO.add(a01).intoArray(out, ao + L);
            NEG_ZERO.add(a10).intoArray(out, ao + rows);
            NEG_ZERO.add(a11).intoArray(out, ao + rows + L);
        } else {
            IntKernels.store(NEG_ZERO.add(a00), NEG_ZERO.add(a01), out, ao, an);
            IntKernels.store(NEG_ZERO.add(a10), NEG_ZERO.add(a11), out, ao + rows, an);
        }
    }
}
