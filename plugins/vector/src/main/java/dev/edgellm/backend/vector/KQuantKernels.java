package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.PackedKWeight.Q4_K_D;
import static dev.edgellm.backend.vector.PackedKWeight.Q4_K_DMIN;
import static dev.edgellm.backend.vector.PackedKWeight.Q4_K_MINS;
import static dev.edgellm.backend.vector.PackedKWeight.Q4_K_QS;
import static dev.edgellm.backend.vector.PackedKWeight.Q4_K_SCALES;
import static dev.edgellm.backend.vector.PackedKWeight.Q5_K_QH;
import static dev.edgellm.backend.vector.PackedKWeight.Q6_K_Q;
import static dev.edgellm.backend.vector.PackedKWeight.Q6_K_SCALES;
import static dev.edgellm.backend.vector.Simd.ALL;
import static dev.edgellm.backend.vector.Simd.BR;
import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.I;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.R;
import static dev.edgellm.backend.vector.Simd.S;
import static dev.edgellm.core.tensor.KQuants.QK_K;
import static dev.edgellm.core.tensor.KQuants.Q8_K_SUMS;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Integer kernels for K-quant weights repacked into {@link Simd#R}-row groups
 * ({@link PackedKWeight}) against activations quantized to Q8_K (256-element blocks, a float scale
 * and per-16 sums), as llama.cpp's CPU backend pairs them. Each lane is one row.
 *
 * <h2>Arithmetic: exactly the oracle's</h2>
 * {@code ScalarKernels.dotQ4_KQ8_K}/{@code dotQ5_KQ8_K}/{@code dotQ6_KQ8_K} (ggml's generic
 * kernels) keep, per super-block, eight integer sums {@code aux[c]} over the elements with index
 * {@code c} mod 8 (each product weighted by its sub-block's scale), add them to eight float
 * accumulators as {@code sums[c] += (d_w * d_x) * aux[c]}, subtract the mins term
 * {@code (dmin_w * d_x) * sum(bsum_j * min_(j/2))} from a ninth accumulator, and add the eight to it
 * at the end, in order. These kernels do the same per lane: for each class {@code c} the products
 * of its elements are summed in 16-bit lanes per (sub-block, class) (at most four Q4_K/Q5_K or two
 * Q6_K products: |sum| <= 15,748), widened, multiplied by the sub-block's scale and added in
 * 32-bit lanes, which gives {@code aux[c]} exactly; the float steps are the oracle's operations on
 * the same values. The eight per-row float accumulators live in a caller's scratch array
 * ({@code acc}, 8 x R floats), the super-block's scales widened to ints in another ({@code scl}),
 * so each kernel keeps only a few vectors live. Results are the oracle's bits at every species
 * width.
 *
 * <p>Each kernel is one group loop around one super-block loop, written out (see {@link IntKernels}
 * on why vector helpers are avoided).
 */
final class KQuantKernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Roots of the kernels' chains of vector operations, as in {@link IntKernels} (see there why). */
    private static final ShortVector ZS = ShortVector.zero(S);
    private static final IntVector ZI = IntVector.zero(I);
    private static final FloatVector ZF = FloatVector.zero(F);
    private static final FloatVector NEG_ZERO = FloatVector.broadcast(F, -0.0f);

    private KQuantKernels() {}

    /**
     * One token: rows of groups {@code [g0, g1)} of a Q4_K weight at {@code base} ({@code blocks}
     * super-blocks per row, records of {@code bb} bytes) dotted with Q8_K activations: quants
     * {@code xq[x0..]}, scales {@code xd[s0..]}, per-16 sums {@code xs[s0 * 16 ..]}; row {@code r}'s
     * result to {@code out[o0 + r]}. {@code acc} (8R floats) and {@code scl} (16R ints) are scratch.
     */
    static void matvecQ4_KQ8_K(long base, int blocks, long bb, byte[] xq, int x0, float[] xd, short[] xs, int s0,
                                float[] out, int o0, int rows, int g0, int g1, float[] acc, int[] scl) {
        for (int g = g0; g < g1; g++) {
            java.util.Arrays.fill(acc, 0, 8 * R, 0f);
            FloatVector m0 = FloatVector.zero(F);
            FloatVector m1 = FloatVector.zero(F);
            long p = base + (long) g * blocks * bb;
            for (int b = 0; b < blocks; b++, p += bb) {
                float dx = xd[s0 + b];
                int q = x0 + b * QK_K;
                int sums = (s0 + b) * Q8_K_SUMS;
                // scales to ints; the mins' integer sums
                scalesAndMinSums(p, xs, sums, scl);
                FloatVector dm0 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_DMIN * R, LE));
                FloatVector dm1 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_DMIN * R + 4L * L, LE));
                m0 = NEG_ZERO.add(m0).sub(dm0.mul((FloatVector) IntVector.fromArray(I, scl, 8 * R).convert(VectorOperators.I2F, 0)));
                m1 = NEG_ZERO.add(m1).sub(dm1.mul((FloatVector) IntVector.fromArray(I, scl, 8 * R + L).convert(VectorOperators.I2F, 0)));
                FloatVector d0 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_D * R, LE));
                FloatVector d1 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_D * R + 4L * L, LE));
                long qs = p + (long) Q4_K_QS * R;
                for (int c = 0; c < 8; c++) {
                    IntVector i0 = IntVector.zero(I);
                    IntVector i1 = IntVector.zero(I);
                    for (int j = 0; j < 4; j++) {
                        ShortVector lo = ShortVector.zero(S);
                        ShortVector hi = ShortVector.zero(S);
                        for (int k = 0; k < 4; k++) {
                            int l = c + 8 * k;
                            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, qs + (long) (32 * j + l) * R, LE)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                            lo = ZS.broadcast(xq[q + 64 * j + l]).mul(v.and((short) 0xF)).add(lo);
                            hi = ZS.broadcast(xq[q + 64 * j + l + 32]).mul(v.lanewise(VectorOperators.LSHR, 4)).add(hi);
                        }
                        ShortVector los = ZS.or(lo);
                        ShortVector his = ZS.or(hi);
                        i0 = IntVector.fromArray(I, scl, 2 * j * R).mul((IntVector) los.convertShape(VectorOperators.S2I, I, 0))
                                .add(IntVector.fromArray(I, scl, (2 * j + 1) * R).mul((IntVector) his.convertShape(VectorOperators.S2I, I, 0))).add(i0);
                        i1 = IntVector.fromArray(I, scl, 2 * j * R + L).mul((IntVector) los.convertShape(VectorOperators.S2I, I, 1))
                                .add(IntVector.fromArray(I, scl, (2 * j + 1) * R + L).mul((IntVector) his.convertShape(VectorOperators.S2I, I, 1))).add(i1);
                    }
                    FloatVector.fromArray(F, acc, c * R).add(d0.mul((FloatVector) ZI.or(i0).convert(VectorOperators.I2F, 0))).intoArray(acc, c * R);
                    FloatVector.fromArray(F, acc, c * R + L).add(d1.mul((FloatVector) ZI.or(i1).convert(VectorOperators.I2F, 0))).intoArray(acc, c * R + L);
                }
            }
            for (int c = 0; c < 8; c++) {
                m0 = FloatVector.fromArray(F, acc, c * R).add(m0);
                m1 = FloatVector.fromArray(F, acc, c * R + L).add(m1);
            }
            int n = Math.min(R, rows - g * R);
            int o = o0 + g * R;
            if (n == R) {
                NEG_ZERO.add(m0).intoArray(out, o);
                NEG_ZERO.add(m1).intoArray(out, o + L);
            } else {
                NEG_ZERO.add(m0).intoArray(out, o, F.indexInRange(0, n));
                NEG_ZERO.add(m1).intoArray(out, o + L, F.indexInRange(L, n));
            }
        }
    }

    /**
     * The prologue of the Q4_K/Q5_K super-block record at {@code p}, shared by both kernels: its
     * eight sub-block scales as ints into {@code scl[sub * R ..]}, and its mins' integer sums
     * {@code sum_sub min_sub * (bsum_{2 sub} + bsum_{2 sub + 1})} (the activation's per-16 sums at
     * {@code xs[sums ..]}) into {@code scl[8R .. 9R)}. Arrays in and out: no vector crosses the call,
     * so nothing is boxed whether or not C2 inlines it.
     */
    private static void scalesAndMinSums(long p, short[] xs, int sums, int[] scl) {
        IntVector n0 = IntVector.zero(I);
        IntVector n1 = IntVector.zero(I);
        for (int sub = 0; sub < 8; sub++) {
            ShortVector sc = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, p + (long) (Q4_K_SCALES + sub) * R, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
            ZI.or((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).intoArray(scl, sub * R);
            ZI.or((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).intoArray(scl, sub * R + L);
            ShortVector mn = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, p + (long) (Q4_K_MINS + sub) * R, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
            int bs = xs[sums + 2 * sub] + xs[sums + 2 * sub + 1];
            n0 = ZI.broadcast(bs).mul((IntVector) mn.convertShape(VectorOperators.S2I, I, 0)).add(n0);
            n1 = ZI.broadcast(bs).mul((IntVector) mn.convertShape(VectorOperators.S2I, I, 1)).add(n1);
        }
        ZI.or(n0).intoArray(scl, 8 * R);
        ZI.or(n1).intoArray(scl, 8 * R + L);
    }

    /** {@link #matvecQ4_KQ8_K} for Q5_K: each quant gains its fifth bit from {@code qh}. */
    static void matvecQ5_KQ8_K(long base, int blocks, long bb, byte[] xq, int x0, float[] xd, short[] xs, int s0,
                                float[] out, int o0, int rows, int g0, int g1, float[] acc, int[] scl) {
        for (int g = g0; g < g1; g++) {
            java.util.Arrays.fill(acc, 0, 8 * R, 0f);
            FloatVector m0 = FloatVector.zero(F);
            FloatVector m1 = FloatVector.zero(F);
            long p = base + (long) g * blocks * bb;
            for (int b = 0; b < blocks; b++, p += bb) {
                float dx = xd[s0 + b];
                int q = x0 + b * QK_K;
                int sums = (s0 + b) * Q8_K_SUMS;
                scalesAndMinSums(p, xs, sums, scl);
                FloatVector dm0 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_DMIN * R, LE));
                FloatVector dm1 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_DMIN * R + 4L * L, LE));
                m0 = NEG_ZERO.add(m0).sub(dm0.mul((FloatVector) IntVector.fromArray(I, scl, 8 * R).convert(VectorOperators.I2F, 0)));
                m1 = NEG_ZERO.add(m1).sub(dm1.mul((FloatVector) IntVector.fromArray(I, scl, 8 * R + L).convert(VectorOperators.I2F, 0)));
                FloatVector d0 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_D * R, LE));
                FloatVector d1 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + (long) Q4_K_D * R + 4L * L, LE));
                long qs = p + (long) Q4_K_QS * R;
                long qh = p + (long) Q5_K_QH * R;
                for (int c = 0; c < 8; c++) {
                    IntVector i0 = IntVector.zero(I);
                    IntVector i1 = IntVector.zero(I);
                    for (int j = 0; j < 4; j++) {
                        ShortVector lo = ShortVector.zero(S);
                        ShortVector hi = ShortVector.zero(S);
                        for (int k = 0; k < 4; k++) {
                            int l = c + 8 * k;
                            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, qs + (long) (32 * j + l) * R, LE)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0);
                            // fifth bits of sub-blocks 2j and 2j+1 moved to bit 4 (then 5)
                            ShortVector h = ((ShortVector) ByteVector.fromMemorySegment(BR, ALL, qh + (long) l * R, LE)
                                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, S, 0)).lanewise(VectorOperators.LSHL, 4)
                                    .lanewise(VectorOperators.LSHR, 2 * j);
                            lo = ZS.broadcast(xq[q + 64 * j + l]).mul(v.and((short) 0xF).add(h.and((short) 16))).add(lo);
                            hi = ZS.broadcast(xq[q + 64 * j + l + 32]).mul(v.lanewise(VectorOperators.LSHR, 4).add(h.lanewise(VectorOperators.LSHR, 1).and((short) 16)))
                                    .add(hi);
                        }
                        ShortVector los = ZS.or(lo);
                        ShortVector his = ZS.or(hi);
                        i0 = IntVector.fromArray(I, scl, 2 * j * R).mul((IntVector) los.convertShape(VectorOperators.S2I, I, 0))
                                .add(IntVector.fromArray(I, scl, (2 * j + 1) * R).mul((IntVector) his.convertShape(VectorOperators.S2I, I, 0))).add(i0);
                        i1 = IntVector.fromArray(I, scl, 2 * j * R + L).mul((IntVector) los.convertShape(VectorOperators.S2I, I, 1))
                                .add(IntVector.fromArray(I, scl, (2 * j + 1) * R + L).mul((IntVector) his.convertShape(VectorOperators.S2I, I, 1))).add(i1);
                    }
                    FloatVector.fromArray(F, acc, c * R).add(d0.mul((FloatVector) ZI.or(i0).convert(VectorOperators.I2F, 0))).intoArray(acc, c * R);
                    FloatVector.fromArray(F, acc, c * R + L).add(d1.mul((FloatVector) ZI.or(i1).convert(VectorOperators.I2F, 0))).intoArray(acc, c * R + L);
                }
            }
            for (int c = 0; c < 8; c++) {
                m0 = FloatVector.fromArray(F, acc, c * R).add(m0);
                m1 = FloatVector.fromArray(F, acc, c * R + L).add(m1);
            }
            int n = Math.min(R, rows - g * R);
            int o = o0 + g * R;
            if (n == R) {
                NEG_ZERO.add(m0).intoArray(out, o);
                NEG_ZERO.add(m1).intoArray(out, o + L);
            } else {
                NEG_ZERO.add(m0).intoArray(out, o, F.indexInRange(0, n));
                NEG_ZERO.add(m1).intoArray(out, o + L, F.indexInRange(L, n));
            }
        }
    }

    /** {@link #matvecQ4_KQ8_K} for Q6_K (no mins; sixteen signed scales per super-block, {@code xs} unused). */
    static void matvecQ6_KQ8_K(long base, int blocks, long bb, byte[] xq, int x0, float[] xd, int s0,
                                float[] out, int o0, int rows, int g0, int g1, float[] acc, int[] scl) {
        for (int g = g0; g < g1; g++) {
            java.util.Arrays.fill(acc, 0, 8 * R, 0f);
            long p = base + (long) g * blocks * bb;
            for (int b = 0; b < blocks; b++, p += bb) {
                float dx = xd[s0 + b];
                int q = x0 + b * QK_K;
                for (int s = 0; s < 16; s++) {
                    ShortVector sc = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, p + (long) (Q6_K_SCALES + s) * R, LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    ZI.or((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).intoArray(scl, s * R);
                    ZI.or((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).intoArray(scl, s * R + L);
                }
                FloatVector d0 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p, LE));
                FloatVector d1 = ZF.broadcast(dx).mul(FloatVector.fromMemorySegment(F, ALL, p + 4L * L, LE));
                long w = p + (long) Q6_K_Q * R;
                for (int c = 0; c < 8; c++) {
                    IntVector i0 = IntVector.zero(I);
                    IntVector i1 = IntVector.zero(I);
                    for (int s = 0; s < 16; s++) {
                        int e = 16 * s + c;
                        ShortVector u = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w + (long) e * R, LE)
                                .convertShape(VectorOperators.B2S, S, 0);
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BR, ALL, w + (long) (e + 8) * R, LE)
                                .convertShape(VectorOperators.B2S, S, 0);
                        ShortVector t = ZS.broadcast(xq[q + e]).mul(u).add(ZS.broadcast(xq[q + e + 8]).mul(v));
                        i0 = IntVector.fromArray(I, scl, s * R).mul((IntVector) t.convertShape(VectorOperators.S2I, I, 0)).add(i0);
                        i1 = IntVector.fromArray(I, scl, s * R + L).mul((IntVector) t.convertShape(VectorOperators.S2I, I, 1)).add(i1);
                    }
                    FloatVector.fromArray(F, acc, c * R).add(d0.mul((FloatVector) ZI.or(i0).convert(VectorOperators.I2F, 0))).intoArray(acc, c * R);
                    FloatVector.fromArray(F, acc, c * R + L).add(d1.mul((FloatVector) ZI.or(i1).convert(VectorOperators.I2F, 0))).intoArray(acc, c * R + L);
                }
            }
            FloatVector m0 = FloatVector.zero(F);
            FloatVector m1 = FloatVector.zero(F);
            for (int c = 0; c < 8; c++) {
                m0 = FloatVector.fromArray(F, acc, c * R).add(m0);
                m1 = FloatVector.fromArray(F, acc, c * R + L).add(m1);
            }
            int n = Math.min(R, rows - g * R);
            int o = o0 + g * R;
            if (n == R) {
                NEG_ZERO.add(m0).intoArray(out, o);
                NEG_ZERO.add(m1).intoArray(out, o + L);
            } else {
                NEG_ZERO.add(m0).intoArray(out, o, F.indexInRange(0, n));
                NEG_ZERO.add(m1).intoArray(out, o + L, F.indexInRange(L, n));
            }
        }
    }
}
