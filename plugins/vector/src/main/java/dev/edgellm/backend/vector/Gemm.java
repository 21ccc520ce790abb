package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.ALL;
import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.SH;
import static dev.edgellm.core.tensor.Codecs.LE_FLOAT;
import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.QK;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * Products with float weights (F16, BF16, F32, read in place from the mapping): a panel of
 * {@link #R} weight rows is decoded to floats once per column chunk into a small scratch buffer,
 * then register-tiled micro-kernels multiply it with {@link #T} tokens at a time (one token: the
 * decode shape). Decoding costs the same whatever the batch size, so with a 64-token batch it is
 * nearly free and the loop is bound by FMA throughput.
 *
 * <h2>The product's arithmetic</h2>
 * Every (row, token) dot product is computed by the same operations in the same order whatever the
 * number of tokens in the call, so decoding token by token gives the bits of the batched prompt
 * path. Weights are exact floats and activations are rounded to the weight's type first (F16/BF16),
 * so every product {@code w * x} is the same real number however it was obtained; only the
 * accumulation rounds. Columns are split into chunks ({@link #chunk}, a function of the row length
 * only). Within a chunk, the column groups (columns {@code [gL, gL+L)}, {@code g} increasing) are
 * accumulated into one accumulator per (row, token) by one fused multiply-add per lane; the
 * chunk's value is {@link Simd#sum}{@code (acc)} (a fixed lane tree), and the chunk values are
 * added in order, the first assigned. The micro-kernels only interleave independent pairs: a 4x4
 * tile keeps 16 accumulators in registers and loads 8 vectors per 16 fused multiply-adds.
 *
 * <p>Q4_0 and Q8_0 weights do not come here: {@link IntKernels} multiplies them in integers.
 */
final class Gemm {
    /** Weight rows per register tile. */
    static final int R = 4;
    /** Tokens per register tile. */
    static final int T = 4;
    /**
     * Columns per chunk: a chunk's activations for a 64-token batch (288 KB) stay in L2 while the
     * panels of a thread's rows pass over them. Gemma 3 1B's rows (1152, 6912) split evenly.
     */
    static final int KC = 1152;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Gemm() {}

    /**
     * Columns per chunk for rows of {@code cols} columns: at most {@link #KC}, whole quant blocks,
     * chunks of nearly equal length. A function of {@code cols} alone: it is part of the products'
     * arithmetic, which must not depend on the number of tokens.
     */
    static int chunk(int cols) {
        int chunks = Math.max(1, (cols + KC - 1) / KC);
        int kc = (cols + chunks - 1) / chunks;
        return (kc + QK - 1) / QK * QK;
    }

    // ---- weight rows to floats -----------------------------------------------------------------------

    /** Elements {@code [c0, c0+n)} of the F16 row at absolute address {@code row} to floats. */
    static void decodeF16(long row, int c0, int n, float[] dst, int off) {
        long base = row + 2L * c0;
        int i = 0;
        for (int upper = n - n % L; i < upper; i += L) {
            Convert.f16ToF32(ShortVector.fromMemorySegment(SH, ALL, base + 2L * i, LE)).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(ALL.get(LE_SHORT, base + 2L * i));
        }
    }

    /** Elements {@code [c0, c0+n)} of the BF16 row at absolute address {@code row} to floats. */
    static void decodeBF16(long row, int c0, int n, float[] dst, int off) {
        long base = row + 2L * c0;
        int i = 0;
        for (int upper = n - n % L; i < upper; i += L) {
            Convert.bf16ToF32(ShortVector.fromMemorySegment(SH, ALL, base + 2L * i, LE)).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = Float.intBitsToFloat((ALL.get(LE_SHORT, base + 2L * i) & 0xFFFF) << 16);
        }
    }

    /** Elements {@code [c0, c0+n)} of the F32 row at absolute address {@code row}. */
    static void decodeF32(long row, int c0, int n, float[] dst, int off) {
        MemorySegment.copy(ALL, LE_FLOAT, row + 4L * c0, dst, off, n);
    }

    // ---- micro-kernels ---------------------------------------------------------------------------------

    /**
     * Chunk sums of {@link #R} panel rows ({@code w[w0 + r*ws ..]}) with {@link #T} tokens
     * ({@code x[x0 + t*xs ..]}) over {@code len} columns (a multiple of {@link Simd#L}): the
     * accumulator of pair (r, t) in {@code red[(r*T + t) * L ..]}, for {@link Simd#sums}.
     * 16 accumulators, 8 loads per 16 fused multiply-adds.
     */
    static void tile4x4(float[] w, int w0, int ws, float[] x, int x0, int xs, int len, float[] red) {
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
        // Reduced by the caller (Simd.sums): with the reductions inlined, this method's IR passes
        // C2's NodeCountInliningCutoff and the remaining vector calls fall back to boxed Java code.
        a00.intoArray(red, 0);
        a01.intoArray(red, L);
        a02.intoArray(red, 2 * L);
        a03.intoArray(red, 3 * L);
        a10.intoArray(red, 4 * L);
        a11.intoArray(red, 5 * L);
        a12.intoArray(red, 6 * L);
        a13.intoArray(red, 7 * L);
        a20.intoArray(red, 8 * L);
        a21.intoArray(red, 9 * L);
        a22.intoArray(red, 10 * L);
        a23.intoArray(red, 11 * L);
        a30.intoArray(red, 12 * L);
        a31.intoArray(red, 13 * L);
        a32.intoArray(red, 14 * L);
        a33.intoArray(red, 15 * L);
    }

    /** One token against {@link #R} panel rows, as {@link #tile4x4}: {@code red[(r*T) * L ..]}. */
    static void tile4x1(float[] w, int w0, int ws, float[] x, int x0, int len, float[] red) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        for (int c = 0; c < len; c += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + c);
            a0 = FloatVector.fromArray(F, w, w0 + c).fma(v, a0);
            a1 = FloatVector.fromArray(F, w, w1 + c).fma(v, a1);
            a2 = FloatVector.fromArray(F, w, w2 + c).fma(v, a2);
            a3 = FloatVector.fromArray(F, w, w3 + c).fma(v, a3);
        }
        a0.intoArray(red, 0);
        a1.intoArray(red, T * L);
        a2.intoArray(red, 2 * T * L);
        a3.intoArray(red, 3 * T * L);
    }

    static {
        if (R != 4 || T != 4) {
            throw new AssertionError("the micro-kernels are written out for 4x4 tiles");
        }
    }
}
