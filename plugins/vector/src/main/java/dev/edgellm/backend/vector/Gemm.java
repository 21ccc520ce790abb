package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.BQ;
import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.I;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.PARTS;
import static dev.edgellm.backend.vector.Simd.SH;
import static dev.edgellm.core.tensor.Codecs.LE_FLOAT;
import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.Q4_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.Q8_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.QK;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Matrix-matrix kernels (prompt processing, several tokens): a panel of {@link #R} weight rows is
 * decoded to floats once into a small scratch buffer (any weight type), then a register-tiled
 * float micro-kernel multiplies it with {@link #T} activation rows at a time: {@code R*T}
 * accumulators, {@code R+T} loads per {@code R*T} fused multiply-adds. Decoding a weight block
 * costs the same whatever the batch size, so with a 64-token batch it is nearly free and the loop
 * is bound by FMA throughput, not by unpacking nibbles.
 */
final class Gemm {
    /** Weight rows per register tile. */
    static final int R = 4;
    /** Activation rows (tokens) per register tile. */
    static final int T = 4;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Gemm() {}

    // ---- weight rows to floats -----------------------------------------------------------------------

    /** Blocks {@code [b0, b0+nb)} of the Q4_0 row at byte {@code row} to {@code dst[off..off+32*nb)}. */
    static void decodeQ4_0(MemorySegment w, long row, int b0, int nb, float[] dst, int off) {
        for (int b = 0; b < nb; b++) {
            long base = row + (long) (b0 + b) * Q4_0_BYTES;
            float d = DotKernels.scale(w, base);
            int o0 = off + b * QK;
            for (int o = 0; o < 16; o += BQ.length()) {
                ByteVector q = ByteVector.fromMemorySegment(BQ, w, base + 2 + o, LE);
                for (int p = 0; p < PARTS; p++) {
                    IntVector iv = (IntVector) q.convertShape(VectorOperators.B2I, I, p);
                    FloatVector lo = (FloatVector) iv.and(15).sub(8).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector hi = (FloatVector) iv.lanewise(VectorOperators.LSHR, 4).and(15).sub(8).convertShape(VectorOperators.I2F, F, 0);
                    int xo = o0 + o + p * L;
                    lo.mul(d).intoArray(dst, xo);
                    hi.mul(d).intoArray(dst, xo + 16);
                }
            }
        }
    }

    /** Blocks {@code [b0, b0+nb)} of the Q8_0 row at byte {@code row} to floats. */
    static void decodeQ8_0(MemorySegment w, long row, int b0, int nb, float[] dst, int off) {
        for (int b = 0; b < nb; b++) {
            long base = row + (long) (b0 + b) * Q8_0_BYTES;
            float d = DotKernels.scale(w, base);
            int o0 = off + b * QK;
            for (int o = 0; o < QK; o += BQ.length()) {
                ByteVector q = ByteVector.fromMemorySegment(BQ, w, base + 2 + o, LE);
                for (int p = 0; p < PARTS; p++) {
                    ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(dst, o0 + o + p * L);
                }
            }
        }
    }

    /** Elements {@code [c0, c0+n)} of the F16 row at byte {@code row} to floats. */
    static void decodeF16(MemorySegment w, long row, int c0, int n, float[] dst, int off) {
        long base = row + 2L * c0;
        int i = 0;
        for (int upper = n - n % L; i < upper; i += L) {
            Convert.f16ToF32(ShortVector.fromMemorySegment(SH, w, base + 2L * i, LE)).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(w.get(LE_SHORT, base + 2L * i));
        }
    }

    /** Elements {@code [c0, c0+n)} of the BF16 row at byte {@code row} to floats. */
    static void decodeBF16(MemorySegment w, long row, int c0, int n, float[] dst, int off) {
        long base = row + 2L * c0;
        int i = 0;
        for (int upper = n - n % L; i < upper; i += L) {
            Convert.bf16ToF32(ShortVector.fromMemorySegment(SH, w, base + 2L * i, LE)).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = Float.intBitsToFloat((w.get(LE_SHORT, base + 2L * i) & 0xFFFF) << 16);
        }
    }

    /** Elements {@code [c0, c0+n)} of the F32 row at byte {@code row}. */
    static void decodeF32(MemorySegment w, long row, int c0, int n, float[] dst, int off) {
        MemorySegment.copy(w, LE_FLOAT, row + 4L * c0, dst, off, n);
    }

    // ---- micro-kernels ---------------------------------------------------------------------------------

    /**
     * {@code sums[r*T + t] = sum_{c<len} w[w0 + r*ws + c] * x[x0 + t*xs + c]} for {@code r < R},
     * {@code t < T}; {@code len} is a multiple of {@link Simd#L}.
     */
    static void tileF32x4x4(float[] w, int w0, int ws, float[] x, int x0, int xs, int len, float[] sums) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F), a02 = FloatVector.zero(F), a03 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F), a12 = FloatVector.zero(F), a13 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F), a22 = FloatVector.zero(F), a23 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F), a32 = FloatVector.zero(F), a33 = FloatVector.zero(F);
        int w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        int x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
        for (int c = 0; c < len; c += L) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + c);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + c);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + c);
            FloatVector v3 = FloatVector.fromArray(F, x, x3 + c);
            FloatVector u = FloatVector.fromArray(F, w, w0 + c);
            a00 = u.fma(v0, a00); a01 = u.fma(v1, a01); a02 = u.fma(v2, a02); a03 = u.fma(v3, a03);
            u = FloatVector.fromArray(F, w, w1 + c);
            a10 = u.fma(v0, a10); a11 = u.fma(v1, a11); a12 = u.fma(v2, a12); a13 = u.fma(v3, a13);
            u = FloatVector.fromArray(F, w, w2 + c);
            a20 = u.fma(v0, a20); a21 = u.fma(v1, a21); a22 = u.fma(v2, a22); a23 = u.fma(v3, a23);
            u = FloatVector.fromArray(F, w, w3 + c);
            a30 = u.fma(v0, a30); a31 = u.fma(v1, a31); a32 = u.fma(v2, a32); a33 = u.fma(v3, a33);
        }
        sums[0] = a00.reduceLanes(VectorOperators.ADD); sums[1] = a01.reduceLanes(VectorOperators.ADD);
        sums[2] = a02.reduceLanes(VectorOperators.ADD); sums[3] = a03.reduceLanes(VectorOperators.ADD);
        sums[4] = a10.reduceLanes(VectorOperators.ADD); sums[5] = a11.reduceLanes(VectorOperators.ADD);
        sums[6] = a12.reduceLanes(VectorOperators.ADD); sums[7] = a13.reduceLanes(VectorOperators.ADD);
        sums[8] = a20.reduceLanes(VectorOperators.ADD); sums[9] = a21.reduceLanes(VectorOperators.ADD);
        sums[10] = a22.reduceLanes(VectorOperators.ADD); sums[11] = a23.reduceLanes(VectorOperators.ADD);
        sums[12] = a30.reduceLanes(VectorOperators.ADD); sums[13] = a31.reduceLanes(VectorOperators.ADD);
        sums[14] = a32.reduceLanes(VectorOperators.ADD); sums[15] = a33.reduceLanes(VectorOperators.ADD);
    }

    /** One activation row against {@link #R} weight rows: {@code sums[r*T] = w[r] . x}. */
    static void tileF32x4x1(float[] w, int w0, int ws, float[] x, int x0, int len, float[] sums) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        for (int c = 0; c < len; c += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + c);
            a0 = FloatVector.fromArray(F, w, w0 + c).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, w1 + c).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, w2 + c).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, w3 + c).fma(v, a3);
        }
        sums[0] = a0.reduceLanes(VectorOperators.ADD);
        sums[T] = a1.reduceLanes(VectorOperators.ADD);
        sums[2 * T] = a2.reduceLanes(VectorOperators.ADD);
        sums[3 * T] = a3.reduceLanes(VectorOperators.ADD);
    }

    static {
        if (R != 4 || T != 4) {
            throw new AssertionError("the micro-kernels are written out for 4x4 tiles");
        }
    }
}
