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
 * <h2>Layout</h2>
 * A group's block record holds the R rows' fp16 scales, then for {@code j < 16} the R
 * little-endian shorts {@code q_j | q_(j+16) << 8}, {@code q} the 5-bit quant (nibble and fifth
 * bit joined at load, 0..31). That is 34 bytes per row and block against the file's 22: one short
 * load then serves two weights of R rows with no widening or bit unpacking, about half the vector
 * operations of unpacking the file's bit planes, and products are compute-bound on this backend.
 *
 * <h2>Arithmetic: exactly the oracle's</h2>
 * {@code isum = sum_j (q_j - 16) a_j} is computed exactly and then
 * {@code acc = acc + (float) isum * (d_w * d_a)}, blocks in order, as
 * {@code ScalarKernels.dotQ5_0Q8_0} does. A pair {@code s = q_j + 256 q_(j+16)} contributes
 * {@code q_j a_j + q_(j+16) a_(j+16)} as {@code s * a_j + (s >>> 8) * (a_(j+16) - 256 a_j)} in
 * 16-bit lanes, the activations passed in that form ({@link #operands}). Intermediate values wrap;
 * the block is summed in two halves (pairs {@code j < 8} and {@code j >= 8}), each started from its
 * offset {@code -16 * sum a} over its 16 elements, so each final value lies within +-32,512 and
 * 16-bit modular arithmetic gives it exactly. The two halves are converted to float and added:
 * integers below 2^24, so the sum is {@code (float) isum} exactly. Scales as in {@link IntKernels}.
 *
 * <p>Kernels are written out (no vector helpers) for the reason given in {@link IntKernels}.
 */
final class Q5_0Kernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int F16_BITS = 0x8FFFE000;
    private static final float P112 = IntKernels.P112;

    private Q5_0Kernels() {}

    /**
     * Writes the record of one block column for the {@code nr} ggml rows at {@code in[r * rb + i]}
     * into {@code out[o..]} (R scales, then 16 planes of R quant pairs); rows past {@code nr} are zero.
     */
    static void pack(byte[] in, int rb, int i, int nr, byte[] out, int o) {
        for (int r = 0; r < R; r++) {
            int sc = o + 2 * r;
            if (r >= nr) {
                out[sc] = 0;
                out[sc + 1] = 0;
                for (int j = 0; j < 16; j++) {
                    int at = o + 2 * R + 2 * (j * R + r);
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
            for (int j = 0; j < 16; j++) {
                int packed = in[b + LegacyQuants.Q5_0_QS + j] & 0xFF;
                int lo = (packed & 0x0F) | ((qh >>> j) & 1) << 4;
                int hi = (packed >>> 4) | ((qh >>> (j + 16)) & 1) << 4;
                int at = o + 2 * R + 2 * (j * R + r);
                out[at] = (byte) lo;
                out[at + 1] = (byte) hi;
            }
        }
    }

    /**
     * The kernels' form of Q8_0 activation quants {@code xq[from, from+n)} (whole blocks): per block,
     * {@code x5[j] = a_j} and {@code x5[16 + j] = a_(16+j) - 256 a_j} for {@code j < 16}
     * (|value| <= 32,639), and the two halves' offsets {@code xo5[2b] = -16 * sum(a_j + a_(16+j), j < 8)},
     * {@code xo5[2b+1]} the same over {@code 8 <= j < 16}.
     */
    static void operands(short[] xq, int from, int n, short[] x5, short[] xo5) {
        for (int b = from; b < from + n; b += QK) {
            int s0 = 0;
            int s1 = 0;
            for (int j = 0; j < 16; j++) {
                int a = xq[b + j];
                int c = xq[b + 16 + j];
                x5[b + j] = (short) a;
                x5[b + 16 + j] = (short) (c - 256 * a);
                if (j < 8) {
                    s0 += a + c;
                } else {
                    s1 += a + c;
                }
            }
            xo5[2 * (b / QK)] = (short) (-16 * s0);
            xo5[2 * (b / QK) + 1] = (short) (-16 * s1);
        }
    }

    /**
     * One token: rows of groups {@code [g0, g1)} of the Q5_0 weight at {@code base} ({@code blocks}
     * block columns, records of {@code bb} bytes) dotted with activations {@code x5[x0..]} (the form of
     * {@link #operands}), scales {@code xd[s0..]} and offsets {@code xo5[2*s0..]}; row {@code r}'s
     * result to {@code out[o0 + r]} for {@code r < rows}.
     */
    static void matvecQ5_0Q8_0(long base, int blocks, long bb, short[] x5, int x0, float[] xd, short[] xo5, int s0,
                                float[] out, int o0, int rows, int g0, int g1) {
        for (int g = g0; g < g1; g++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            long p = base + (long) g * blocks * bb;
            for (int b = 0; b < blocks; b++, p += bb) {
                ShortVector c = ShortVector.broadcast(S, xo5[2 * (s0 + b)]);
                ShortVector e = ShortVector.broadcast(S, xo5[2 * (s0 + b) + 1]);
                int q = x0 + b * QK;
                long w = p + 2L * R;
                for (int j = 0; j < 8; j++, w += 2L * R) {
                    ShortVector v = ShortVector.fromMemorySegment(S, ALL, w, LE);
                    ShortVector u = ShortVector.fromMemorySegment(S, ALL, w + 16L * R, LE);
                    c = c.add(v.mul(x5[q + j])).add(v.lanewise(VectorOperators.LSHR, 8).mul(x5[q + j + 16]));
                    e = e.add(u.mul(x5[q + j + 8])).add(u.lanewise(VectorOperators.LSHR, 8).mul(x5[q + j + 24]));
                }
                ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
                float m = xd[s0 + b] * P112;
                FloatVector d0 = ((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 13).and(F16_BITS)
                        .reinterpretAsFloats();
                FloatVector d1 = ((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).lanewise(VectorOperators.LSHL, 13).and(F16_BITS)
                        .reinterpretAsFloats();
                FloatVector i0 = ((FloatVector) c.convertShape(VectorOperators.S2F, F, 0)).add((FloatVector) e.convertShape(VectorOperators.S2F, F, 0));
                FloatVector i1 = ((FloatVector) c.convertShape(VectorOperators.S2F, F, 1)).add((FloatVector) e.convertShape(VectorOperators.S2F, F, 1));
                a0 = a0.add(i0.mul(d0.mul(m)));
                a1 = a1.add(i1.mul(d1.mul(m)));
            }
            int n = Math.min(R, rows - g * R);
            int o = o0 + g * R;
            if (n == R) {
                a0.intoArray(out, o);
                a1.intoArray(out, o + L);
            } else {
                a0.intoArray(out, o, F.indexInRange(0, n));
                a1.intoArray(out, o + L, F.indexInRange(L, n));
            }
        }
    }

    /**
     * Two tokens at once against group {@code g}, blocks {@code [b0, b1)} (a column chunk; from the
     * second chunk on the sums so far are in {@code out}): token {@code t}'s activations at
     * {@code x5[x0 + t*cols ..]}, its block values at {@code xd[s0 + t*blocks ..]} and
     * {@code xo5[2*(s0 + t*blocks) ..]}, its results at {@code out[o0 + t*rows + ..]}. Two, not
     * four as for Q4_0: the quant pairs need no widening to share, and a four-token version (16
     * short and float accumulators) was compiled by C2 with boxed vectors.
     */
    static void gemm2Q5_0Q8_0(long base, int blocks, long bb, int cols, short[] x5, int x0, float[] xd, short[] xo5, int s0,
                               float[] out, int o0, int rows, int g, int b0, int b1) {
        int an = Math.min(R, rows - g * R);
        int ao = o0 + g * R;
        VectorMask<Float> am0 = F.indexInRange(0, an);
        VectorMask<Float> am1 = F.indexInRange(L, an);
        FloatVector a00 = FloatVector.fromArray(F, out, ao, am0);
        FloatVector a01 = FloatVector.fromArray(F, out, ao + L, am1);
        FloatVector a10 = FloatVector.fromArray(F, out, ao + rows, am0);
        FloatVector a11 = FloatVector.fromArray(F, out, ao + rows + L, am1);
        long p = base + ((long) g * blocks + b0) * bb;
        int x1 = x0 + cols;
        int s1 = s0 + blocks;
        for (int b = b0; b < b1; b++, p += bb) {
            ShortVector c0 = ShortVector.broadcast(S, xo5[2 * (s0 + b)]);
            ShortVector c1 = ShortVector.broadcast(S, xo5[2 * (s1 + b)]);
            ShortVector e0 = ShortVector.broadcast(S, xo5[2 * (s0 + b) + 1]);
            ShortVector e1 = ShortVector.broadcast(S, xo5[2 * (s1 + b) + 1]);
            int q = b * QK;
            long w = p + 2L * R;
            for (int j = 0; j < 8; j++, w += 2L * R) {
                ShortVector v = ShortVector.fromMemorySegment(S, ALL, w, LE);
                ShortVector vh = v.lanewise(VectorOperators.LSHR, 8);
                ShortVector u = ShortVector.fromMemorySegment(S, ALL, w + 16L * R, LE);
                ShortVector uh = u.lanewise(VectorOperators.LSHR, 8);
                int k = q + j;
                c0 = c0.add(v.mul(x5[x0 + k]).add(vh.mul(x5[x0 + k + 16])));
                e0 = e0.add(u.mul(x5[x0 + k + 8]).add(uh.mul(x5[x0 + k + 24])));
                c1 = c1.add(v.mul(x5[x1 + k]).add(vh.mul(x5[x1 + k + 16])));
                e1 = e1.add(u.mul(x5[x1 + k + 8]).add(uh.mul(x5[x1 + k + 24])));
            }
            ShortVector sc = ShortVector.fromMemorySegment(S, ALL, p, LE);
            FloatVector d0 = ((IntVector) sc.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 13).and(F16_BITS)
                    .reinterpretAsFloats();
            FloatVector d1 = ((IntVector) sc.convertShape(VectorOperators.S2I, I, 1)).lanewise(VectorOperators.LSHL, 13).and(F16_BITS)
                    .reinterpretAsFloats();
            float m0 = xd[s0 + b] * P112, m1 = xd[s1 + b] * P112;
            a00 = a00.add(((FloatVector) c0.convertShape(VectorOperators.S2F, F, 0)).add((FloatVector) e0.convertShape(VectorOperators.S2F, F, 0)).mul(d0.mul(m0)));
            a01 = a01.add(((FloatVector) c0.convertShape(VectorOperators.S2F, F, 1)).add((FloatVector) e0.convertShape(VectorOperators.S2F, F, 1)).mul(d1.mul(m0)));
            a10 = a10.add(((FloatVector) c1.convertShape(VectorOperators.S2F, F, 0)).add((FloatVector) e1.convertShape(VectorOperators.S2F, F, 0)).mul(d0.mul(m1)));
            a11 = a11.add(((FloatVector) c1.convertShape(VectorOperators.S2F, F, 1)).add((FloatVector) e1.convertShape(VectorOperators.S2F, F, 1)).mul(d1.mul(m1)));
        }
        if (an == R) {
            a00.intoArray(out, ao);
            a01.intoArray(out, ao + L);
            a10.intoArray(out, ao + rows);
            a11.intoArray(out, ao + rows + L);
        } else {
            IntKernels.store(a00, a01, out, ao, an);
            IntKernels.store(a10, a11, out, ao + rows, an);
        }
    }
}
