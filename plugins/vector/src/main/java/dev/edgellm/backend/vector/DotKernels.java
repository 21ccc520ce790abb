package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.BQ;
import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.G;
import static dev.edgellm.backend.vector.Simd.I;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.Q4_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.Q8_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.QK;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Matrix-vector kernels (decode, one token): Q4_0/Q8_0 weight rows read in place from the mapped
 * file, dotted with one token's activations.
 *
 * <h2>The product's arithmetic (shared with {@link Gemm})</h2>
 * Every (row, token) dot product is computed by the same operations in the same order whatever the
 * number of tokens in the call, so decoding token by token gives the bits of the batched prompt
 * path:
 * <ul>
 *   <li>Weights are exact floats: Q4_0 {@code (q - 8) * d}, Q8_0 {@code q * d} (a 4- or 8-bit
 *       integer times an fp16 scale is exact in float), F16/BF16/F32 their value. Activations
 *       meeting Q4_0/Q8_0 are their Q8_0 values {@code q8 * d8} (exact), F16/BF16 weights meet
 *       activations rounded to that type. So every product {@code w * x} is the same real number
 *       however it was obtained; only the accumulation rounds.
 *   <li>Columns are split into chunks ({@link Gemm#chunk}, a function of the row length only).
 *       Within a chunk, the column groups (columns {@code [gL, gL+L)}, {@code g} increasing) are
 *       accumulated into one accumulator by one fused multiply-add per lane. The chunk's value is
 *       {@link Simd#sum}{@code (acc)} (a fixed lane tree), and the chunk values are added in
 *       order, the first assigned.
 * </ul>
 * The matrix-vector kernels here stream weights straight from the mapping and unpack them in
 * registers; {@link Gemm} decodes a panel of rows to floats once and reuses it for many tokens.
 * Both follow the definition above, so their results are identical bit for bit.
 *
 * <p>The float path beat an integer path: Java's Vector API has no byte or short dot-product
 * instruction (no {@code vpmaddubsw}/{@code vpdpbusd}), so an integer path needs more widening
 * steps than the float path needs conversions.
 */
final class DotKernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * All native memory as one segment, addressed by absolute address. A constant segment with
     * the global scope makes each vector load a plain load (no session, bounds or alignment checks
     * inlined per access), which keeps multi-row kernels within C2's inlining budget. Callers check
     * ranges against the weight's own segment before calling.
     */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** {@code [-8, 7]}: Q4_0's nibble values, the table {@code vpermd} looks weights up in (512-bit species). */
    private static final float[] NIBBLES = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7};
    private static final FloatVector NIBBLES16 = L == 16 ? FloatVector.fromArray(F, NIBBLES, 0) : null;

    private DotKernels() {}

    /**
     * The fp16 scale at absolute address {@code a}, as a float ({@code vcvtph2ps}). A 256 KB
     * lookup table was faster on weights in L2 but slower on weights streamed from DRAM: the
     * table load waits behind the cache miss and holds up the loads that follow.
     */
    static float scale(long a) {
        return Float.float16ToFloat(ALL.get(LE_SHORT, a));
    }

    /** Byte offset (within a block's quants) of the load that holds column group {@code g}'s bytes. */
    private static int loadOffset(int col) {
        return col & -BQ.length();
    }

    /** Which {@link Simd#I}-sized part of that load column {@code col} starts. */
    private static int part(int col) {
        return (col % BQ.length()) / L;
    }

    // ---- Q4_0 --------------------------------------------------------------------------------------

    /**
     * Q4_0 group {@code g} of the block whose quants start at {@code q} (absolute address), as
     * exact weights {@code (nibble - 8) * d}: groups of the first 16 columns are low nibbles, the
     * rest high nibbles.
     */
    private static FloatVector q4Group(long q, int g, FloatVector d, FloatVector m8d) {
        int col = (g * L) & 15;
        ByteVector b = ByteVector.fromMemorySegment(BQ, ALL, q + loadOffset(col), LE);
        IntVector i = (IntVector) b.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part(col));
        IntVector nib = g * L >= 16 ? i.lanewise(VectorOperators.LSHR, 4) : i.and(15);
        return ((FloatVector) nib.convertShape(VectorOperators.I2F, F, 0)).fma(d, m8d);
    }

    /**
     * 512-bit species: a block's quants ({@code q}, absolute address) zero-extended to 16 ints, one
     * byte (two nibbles) per lane.
     */
    private static IntVector q4Bytes(long q) {
        return (IntVector) ByteVector.fromMemorySegment(BQ, ALL, q, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /** 512-bit species: the block's weight table {@code (k - 8) * d}, {@code k < 16}, as int bits. */
    private static IntVector q4Table(float d) {
        return NIBBLES16.mul(d).reinterpretAsInts();
    }

    /**
     * 512-bit species: the exact weights of the block's low ({@code hi == false}) or high nibbles,
     * looked up in {@code table} by {@code vpermd} (which replaces mask, convert and scale; it
     * wraps indexes modulo 16, so the low nibble needs no mask).
     */
    private static FloatVector q4Lookup(IntVector bytes, boolean hi, IntVector table) {
        return (hi ? bytes.lanewise(VectorOperators.LSHR, 4) : bytes).selectFrom(table).reinterpretAsFloats();
    }

    /**
     * Two Q4_0 streams of {@code nb} blocks each, starting at absolute addresses {@code p0} and
     * {@code p1}, dotted with the activations from {@code x[x0..]} and {@code x[x1..]}: the two
     * chunk values in {@code res[0]}, {@code res[1]}. The streams are two rows over one chunk
     * (then {@code x0 == x1} and the activation loads are shared) or two chunks of one long row;
     * either way the two accumulation chains overlap. Touches the byte {@code ahead} bytes past
     * each block of the first stream (a software prefetch; the caller keeps it inside the tensor).
     */
    static void q4_0Dot2(long p0, long p1, long ahead, float[] x, int x0, int x1, int nb, float[] res) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int touch = 0;
        for (int b = 0; b < nb; b++) {
            // A load far ahead whose value is dropped into "touch" keeps more cache misses in
            // flight than the hardware prefetcher alone (Java has no prefetch instruction).
            touch += ALL.get(ValueLayout.JAVA_BYTE, p0 + ahead);
            float d0 = scale(p0);
            float d1 = scale(p1);
            if (L == 16) {
                IntVector t0 = q4Table(d0);
                IntVector t1 = q4Table(d1);
                IntVector q0 = q4Bytes(p0 + 2);
                IntVector q1 = q4Bytes(p1 + 2);
                a0 = q4Lookup(q0, false, t0).fma(FloatVector.fromArray(F, x, x0), a0);
                a1 = q4Lookup(q1, false, t1).fma(FloatVector.fromArray(F, x, x1), a1);
                a0 = q4Lookup(q0, true, t0).fma(FloatVector.fromArray(F, x, x0 + 16), a0);
                a1 = q4Lookup(q1, true, t1).fma(FloatVector.fromArray(F, x, x1 + 16), a1);
            } else {
                FloatVector dv0 = FloatVector.broadcast(F, d0);
                FloatVector dv1 = FloatVector.broadcast(F, d1);
                FloatVector m0 = FloatVector.broadcast(F, -8f * d0);
                FloatVector m1 = FloatVector.broadcast(F, -8f * d1);
                for (int g = 0; g < G; g++) {
                    a0 = q4Group(p0 + 2, g, dv0, m0).fma(FloatVector.fromArray(F, x, x0 + g * L), a0);
                    a1 = q4Group(p1 + 2, g, dv1, m1).fma(FloatVector.fromArray(F, x, x1 + g * L), a1);
                }
            }
            p0 += Q4_0_BYTES;
            p1 += Q4_0_BYTES;
            x0 += QK;
            x1 += QK;
        }
        float s0 = Simd.sum(a0);
        if (touch == Integer.MIN_VALUE) {
            s0 += 0f; // keeps the touches alive; never changes a value
        }
        res[0] = s0;
        res[1] = Simd.sum(a1);
    }

    /**
     * {@link #q4_0Dot2} for two rows over one chunk ({@code p1 - p0} apart, both dotted with
     * {@code x[x0..]}): the same arithmetic with the activation loads shared.
     */
    static void q4_0Rows2(long p0, long p1, long ahead, float[] x, int x0, int nb, float[] res) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int touch = 0;
        for (int b = 0; b < nb; b++) {
            touch += ALL.get(ValueLayout.JAVA_BYTE, p0 + ahead);
            float d0 = scale(p0);
            float d1 = scale(p1);
            if (L == 16) {
                IntVector t0 = q4Table(d0);
                IntVector t1 = q4Table(d1);
                IntVector q0 = q4Bytes(p0 + 2);
                IntVector q1 = q4Bytes(p1 + 2);
                FloatVector xl = FloatVector.fromArray(F, x, x0);
                FloatVector xh = FloatVector.fromArray(F, x, x0 + 16);
                a0 = q4Lookup(q0, false, t0).fma(xl, a0);
                a1 = q4Lookup(q1, false, t1).fma(xl, a1);
                a0 = q4Lookup(q0, true, t0).fma(xh, a0);
                a1 = q4Lookup(q1, true, t1).fma(xh, a1);
            } else {
                FloatVector dv0 = FloatVector.broadcast(F, d0);
                FloatVector dv1 = FloatVector.broadcast(F, d1);
                FloatVector m0 = FloatVector.broadcast(F, -8f * d0);
                FloatVector m1 = FloatVector.broadcast(F, -8f * d1);
                for (int g = 0; g < G; g++) {
                    FloatVector xv = FloatVector.fromArray(F, x, x0 + g * L);
                    a0 = q4Group(p0 + 2, g, dv0, m0).fma(xv, a0);
                    a1 = q4Group(p1 + 2, g, dv1, m1).fma(xv, a1);
                }
            }
            p0 += Q4_0_BYTES;
            p1 += Q4_0_BYTES;
            x0 += QK;
        }
        float s0 = Simd.sum(a0);
        if (touch == Integer.MIN_VALUE) {
            s0 += 0f;
        }
        res[0] = s0;
        res[1] = Simd.sum(a1);
    }

    /** One Q4_0 row at absolute address {@code w0} over blocks {@code [b0, b0+nb)}: the chunk value. */
    static float q4_0Row(long w0, float[] x, int b0, int nb) {
        return q4_0Row(w0, 0, x, b0, nb);
    }

    /** {@link #q4_0Row(long, float[], int, int)} touching the byte {@code ahead} past each block. */
    static float q4_0Row(long w0, long ahead, float[] x, int b0, int nb) {
        FloatVector a = FloatVector.zero(F);
        long p = w0 + (long) b0 * Q4_0_BYTES;
        int xo = b0 * QK;
        int touch = 0;
        for (int b = 0; b < nb; b++) {
            touch += ALL.get(ValueLayout.JAVA_BYTE, p + ahead);
            float d = scale(p);
            if (L == 16) {
                IntVector t = q4Table(d);
                IntVector q = q4Bytes(p + 2);
                a = q4Lookup(q, false, t).fma(FloatVector.fromArray(F, x, xo), a);
                a = q4Lookup(q, true, t).fma(FloatVector.fromArray(F, x, xo + 16), a);
                p += Q4_0_BYTES;
                xo += QK;
                continue;
            }
            FloatVector dv = FloatVector.broadcast(F, d);
            FloatVector m = FloatVector.broadcast(F, -8f * d);
            for (int g = 0; g < G; g++) {
                FloatVector xv = FloatVector.fromArray(F, x, xo + g * L);
                a = q4Group(p + 2, g, dv, m).fma(xv, a);
            }
            p += Q4_0_BYTES;
            xo += QK;
        }
        float s = Simd.sum(a);
        return touch == Integer.MIN_VALUE ? s + 0f : s;
    }

    /** Blocks {@code [b0, b0+nb)} of the Q4_0 row at absolute address {@code row} as exact floats into {@code dst[off..)}. */
    static void q4_0Decode(long row, int b0, int nb, float[] dst, int off) {
        long p = row + (long) b0 * Q4_0_BYTES;
        for (int b = 0; b < nb; b++) {
            float d = scale(p);
            if (L == 16) {
                IntVector t = q4Table(d);
                IntVector q = q4Bytes(p + 2);
                q4Lookup(q, false, t).intoArray(dst, off + b * QK);
                q4Lookup(q, true, t).intoArray(dst, off + b * QK + 16);
                p += Q4_0_BYTES;
                continue;
            }
            FloatVector dv = FloatVector.broadcast(F, d);
            FloatVector m = FloatVector.broadcast(F, -8f * d);
            for (int g = 0; g < G; g++) {
                q4Group(p + 2, g, dv, m).intoArray(dst, off + b * QK + g * L);
            }
            p += Q4_0_BYTES;
        }
    }

    // ---- Q8_0 --------------------------------------------------------------------------------------

    /** Q8_0 group {@code g} of the block whose quants start at {@code q}, as exact weights {@code q * d}. */
    private static FloatVector q8Group(long q, int g, float d) {
        int col = g * L;
        ByteVector b = ByteVector.fromMemorySegment(BQ, ALL, q + loadOffset(col), LE);
        return ((FloatVector) b.convertShape(VectorOperators.B2F, F, part(col))).mul(d);
    }

    /** Two Q8_0 streams of {@code nb} blocks, as {@link #q4_0Dot2}. */
    static void q8_0Dot2(long p0, long p1, long ahead, float[] x, int x0, int x1, int nb, float[] res) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int touch = 0;
        for (int b = 0; b < nb; b++) {
            touch += ALL.get(ValueLayout.JAVA_BYTE, p0 + ahead);
            float d0 = scale(p0);
            float d1 = scale(p1);
            for (int g = 0; g < G; g++) {
                a0 = q8Group(p0 + 2, g, d0).fma(FloatVector.fromArray(F, x, x0 + g * L), a0);
                a1 = q8Group(p1 + 2, g, d1).fma(FloatVector.fromArray(F, x, x1 + g * L), a1);
            }
            p0 += Q8_0_BYTES;
            p1 += Q8_0_BYTES;
            x0 += QK;
            x1 += QK;
        }
        float s0 = Simd.sum(a0);
        if (touch == Integer.MIN_VALUE) {
            s0 += 0f;
        }
        res[0] = s0;
        res[1] = Simd.sum(a1);
    }

    /** One Q8_0 row over blocks {@code [b0, b0+nb)}: the chunk value. */
    static float q8_0Row(long w0, float[] x, int b0, int nb) {
        FloatVector a = FloatVector.zero(F);
        long p = w0 + (long) b0 * Q8_0_BYTES;
        int xo = b0 * QK;
        for (int b = 0; b < nb; b++) {
            float d = scale(p);
            for (int g = 0; g < G; g++) {
                FloatVector xv = FloatVector.fromArray(F, x, xo + g * L);
                a = q8Group(p + 2, g, d).fma(xv, a);
            }
            p += Q8_0_BYTES;
            xo += QK;
        }
        return Simd.sum(a);
    }

    /** Blocks {@code [b0, b0+nb)} of the Q8_0 row at absolute address {@code row} as exact floats. */
    static void q8_0Decode(long row, int b0, int nb, float[] dst, int off) {
        long p = row + (long) b0 * Q8_0_BYTES;
        for (int b = 0; b < nb; b++) {
            float d = scale(p);
            for (int g = 0; g < G; g++) {
                q8Group(p + 2, g, d).intoArray(dst, off + b * QK + g * L);
            }
            p += Q8_0_BYTES;
        }
    }
}
