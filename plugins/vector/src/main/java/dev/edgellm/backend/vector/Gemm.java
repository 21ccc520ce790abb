package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.DotKernels.ALL;
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
 * Matrix-matrix kernels (prompt processing, several tokens): a panel of {@link #R} weight rows is
 * decoded to exact floats once per column chunk into a small scratch buffer (any weight type), then
 * register-tiled micro-kernels multiply it with {@link #T} tokens at a time. Decoding a weight block
 * costs the same whatever the batch size, so with a 64-token batch it is nearly free and the loop
 * is bound by FMA throughput, not by unpacking nibbles.
 *
 * <p>Each (row, token) pair follows exactly the arithmetic of the matrix-vector kernels (see
 * {@link DotKernels}): two accumulators per pair over alternating column groups, one chunk at a
 * time, reduced by {@link Simd#sum}. The micro-kernels only interleave independent pairs.
 */
final class Gemm {
    /** Weight rows per register tile. */
    static final int R = 4;
    /** Tokens per register tile. */
    static final int T = 2;
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
     * Chunk sums of {@link #R} panel rows ({@code w[w0 + r*ws ..]}) with 2 tokens
     * ({@code x[x0 ..]}, {@code x[x0 + xs ..]}) over {@code len} columns (a multiple of {@code 2L}):
     * the pair's two accumulators added, in {@code red[(r*T + t) * L ..]}, for {@link Simd#sums}.
     * 16 accumulators, 12 loads per 16 fused multiply-adds.
     */
    static void tile4x2(float[] w, int w0, int ws, float[] x, int x0, int xs, int len, float[] red) {
        FloatVector a000 = FloatVector.zero(F), a001 = FloatVector.zero(F), a010 = FloatVector.zero(F), a011 = FloatVector.zero(F);
        FloatVector a100 = FloatVector.zero(F), a101 = FloatVector.zero(F), a110 = FloatVector.zero(F), a111 = FloatVector.zero(F);
        FloatVector a200 = FloatVector.zero(F), a201 = FloatVector.zero(F), a210 = FloatVector.zero(F), a211 = FloatVector.zero(F);
        FloatVector a300 = FloatVector.zero(F), a301 = FloatVector.zero(F), a310 = FloatVector.zero(F), a311 = FloatVector.zero(F);
        int w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        int x1 = x0 + xs;
        for (int c = 0; c < len; c += 2 * L) {
            FloatVector x00 = FloatVector.fromArray(F, x, x0 + c);
            FloatVector x01 = FloatVector.fromArray(F, x, x0 + c + L);
            FloatVector x10 = FloatVector.fromArray(F, x, x1 + c);
            FloatVector x11 = FloatVector.fromArray(F, x, x1 + c + L);
            FloatVector u = FloatVector.fromArray(F, w, w0 + c);
            FloatVector v = FloatVector.fromArray(F, w, w0 + c + L);
            a000 = u.fma(x00, a000); a001 = v.fma(x01, a001); a010 = u.fma(x10, a010); a011 = v.fma(x11, a011);
            u = FloatVector.fromArray(F, w, w1 + c);
            v = FloatVector.fromArray(F, w, w1 + c + L);
            a100 = u.fma(x00, a100); a101 = v.fma(x01, a101); a110 = u.fma(x10, a110); a111 = v.fma(x11, a111);
            u = FloatVector.fromArray(F, w, w2 + c);
            v = FloatVector.fromArray(F, w, w2 + c + L);
            a200 = u.fma(x00, a200); a201 = v.fma(x01, a201); a210 = u.fma(x10, a210); a211 = v.fma(x11, a211);
            u = FloatVector.fromArray(F, w, w3 + c);
            v = FloatVector.fromArray(F, w, w3 + c + L);
            a300 = u.fma(x00, a300); a301 = v.fma(x01, a301); a310 = u.fma(x10, a310); a311 = v.fma(x11, a311);
        }
        // Reduced by the caller (Simd.sums): with the reductions inlined, this method's IR passes
        // C2's NodeCountInliningCutoff and the remaining vector calls fall back to boxed Java code.
        a000.add(a001).intoArray(red, 0);
        a010.add(a011).intoArray(red, L);
        a100.add(a101).intoArray(red, 2 * L);
        a110.add(a111).intoArray(red, 3 * L);
        a200.add(a201).intoArray(red, 4 * L);
        a210.add(a211).intoArray(red, 5 * L);
        a300.add(a301).intoArray(red, 6 * L);
        a310.add(a311).intoArray(red, 7 * L);
    }

    /** One token against {@link #R} panel rows, as {@link #tile4x2}: {@code red[(r*T) * L ..]}. */
    static void tile4x1(float[] w, int w0, int ws, float[] x, int x0, int len, float[] red) {
        FloatVector a00 = FloatVector.zero(F), a01 = FloatVector.zero(F);
        FloatVector a10 = FloatVector.zero(F), a11 = FloatVector.zero(F);
        FloatVector a20 = FloatVector.zero(F), a21 = FloatVector.zero(F);
        FloatVector a30 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        int w1 = w0 + ws, w2 = w1 + ws, w3 = w2 + ws;
        for (int c = 0; c < len; c += 2 * L) {
            FloatVector x0v = FloatVector.fromArray(F, x, x0 + c);
            FloatVector x1v = FloatVector.fromArray(F, x, x0 + c + L);
            a00 = FloatVector.fromArray(F, w, w0 + c).fma(x0v, a00);
            a01 = FloatVector.fromArray(F, w, w0 + c + L).fma(x1v, a01);
            a10 = FloatVector.fromArray(F, w, w1 + c).fma(x0v, a10);
            a11 = FloatVector.fromArray(F, w, w1 + c + L).fma(x1v, a11);
            a20 = FloatVector.fromArray(F, w, w2 + c).fma(x0v, a20);
            a21 = FloatVector.fromArray(F, w, w2 + c + L).fma(x1v, a21);
            a30 = FloatVector.fromArray(F, w, w3 + c).fma(x0v, a30);
            a31 = FloatVector.fromArray(F, w, w3 + c + L).fma(x1v, a31);
        }
        a00.add(a01).intoArray(red, 0);
        a10.add(a11).intoArray(red, 2 * L);
        a20.add(a21).intoArray(red, 4 * L);
        a30.add(a31).intoArray(red, 6 * L);
    }

    static {
        if (R != 4 || T != 2) {
            throw new AssertionError("the micro-kernels are written out for 4x2 tiles");
        }
    }
}
