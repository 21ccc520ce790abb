package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.BQ;
import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.I;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.PARTS;
import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.Q4_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.Q8_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.QK;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Matrix-vector kernels (decode, one token): dot products of weight rows read in place from the
 * mapped file with one activation row.
 *
 * <p>Quantized weights meet activations that were quantized to Q8_0 and expanded back to floats
 * ({@code xs[i] = q8[i] * d8[block]}, exact in float). The "float path" then multiplies the weight
 * quants, converted to float, with {@code xs}: per block
 * {@code sum_j (q_j - 8) * d_w * xs_j = d_w * (sum_j q_j xs_j - 8 * xsum_b)} with
 * {@code xsum_b = sum_j xs_j} precomputed per activation block, so the nibble offset costs one
 * scalar multiply-add per block instead of vector work. Products of small integers times one fp16
 * scale are exact in float; only the accumulation rounds, which keeps results within a few ulps
 * of the scalar oracle's exact integer block sums (the conformance test states the bound).
 *
 * <p>This float path beat an integer path (nibbles and quants widened to shorts, multiplied,
 * widened to ints and converted per block): Java's Vector API has no byte or short dot-product
 * instruction (no {@code vpmaddubsw}/{@code vpdpbusd}), so the integer path needs more widening
 * steps than the float path needs conversions (see the JMH results in the module's README).
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

    private DotKernels() {}

    /** {@code f16} bits at byte {@code off} of {@code w} as a float. */
    static float scale(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(LE_SHORT, off));
    }

    // ---- Q4_0 --------------------------------------------------------------------------------------

    /**
     * One Q4_0 weight row (at byte {@code w0}, {@code blocks} blocks) . Q8_0 activations expanded to
     * floats ({@code xs} from float {@code xb*32}, block sums {@code xsum} from {@code xb}).
     */
    static float dotQ4_0Q8_0(MemorySegment w, long w0, float[] xs, float[] xsum, int xb, int blocks) {
        FloatVector acc = FloatVector.zero(F);
        float corr = 0f;
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * Q4_0_BYTES;
            int x0 = (xb + b) * QK;
            float d = scale(w, base);
            FloatVector blk = FloatVector.zero(F);
            for (int o = 0; o < 16; o += BQ.length()) {
                ByteVector q = ByteVector.fromMemorySegment(BQ, w, base + 2 + o, LE);
                for (int p = 0; p < PARTS; p++) {
                    IntVector iv = (IntVector) q.convertShape(VectorOperators.B2I, I, p);
                    FloatVector lo = (FloatVector) iv.and(15).convertShape(VectorOperators.I2F, F, 0);
                    FloatVector hi = (FloatVector) iv.lanewise(VectorOperators.LSHR, 4).and(15).convertShape(VectorOperators.I2F, F, 0);
                    int xo = x0 + o + p * L;
                    blk = lo.fma(FloatVector.fromArray(F, xs, xo), blk);
                    blk = hi.fma(FloatVector.fromArray(F, xs, xo + 16), blk);
                }
            }
            acc = blk.fma(FloatVector.broadcast(F, d), acc);
            corr += d * xsum[xb + b];
        }
        return acc.reduceLanes(VectorOperators.ADD) - 8f * corr;
    }

    /**
     * Two adjacent Q4_0 rows at once (bytes {@code w0} and {@code w0 + rowBytes}): the activation
     * loads are shared and the two accumulation chains overlap. Writes {@code out[o]}, {@code out[o+1]}.
     */
    static void dotQ4_0Q8_0Rows2(MemorySegment w, long w0, long rowBytes, float[] xs, float[] xsum, int blocks,
                                 float[] out, int o) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        float corr0 = 0f;
        float corr1 = 0f;
        long w1 = w0 + rowBytes;
        for (int b = 0; b < blocks; b++) {
            long base0 = w0 + (long) b * Q4_0_BYTES;
            long base1 = w1 + (long) b * Q4_0_BYTES;
            int x0 = b * QK;
            float d0 = scale(w, base0);
            float d1 = scale(w, base1);
            FloatVector blk0 = FloatVector.zero(F);
            FloatVector blk1 = FloatVector.zero(F);
            for (int off = 0; off < 16; off += BQ.length()) {
                ByteVector q0 = ByteVector.fromMemorySegment(BQ, w, base0 + 2 + off, LE);
                ByteVector q1 = ByteVector.fromMemorySegment(BQ, w, base1 + 2 + off, LE);
                for (int p = 0; p < PARTS; p++) {
                    int xo = x0 + off + p * L;
                    FloatVector xlo = FloatVector.fromArray(F, xs, xo);
                    FloatVector xhi = FloatVector.fromArray(F, xs, xo + 16);
                    IntVector i0 = (IntVector) q0.convertShape(VectorOperators.B2I, I, p);
                    IntVector i1 = (IntVector) q1.convertShape(VectorOperators.B2I, I, p);
                    blk0 = ((FloatVector) i0.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, blk0);
                    blk0 = ((FloatVector) i0.lanewise(VectorOperators.LSHR, 4).and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xhi, blk0);
                    blk1 = ((FloatVector) i1.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, blk1);
                    blk1 = ((FloatVector) i1.lanewise(VectorOperators.LSHR, 4).and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xhi, blk1);
                }
            }
            acc0 = blk0.fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = blk1.fma(FloatVector.broadcast(F, d1), acc1);
            float s = xsum[b];
            corr0 += d0 * s;
            corr1 += d1 * s;
        }
        out[o] = acc0.reduceLanes(VectorOperators.ADD) - 8f * corr0;
        out[o + 1] = acc1.reduceLanes(VectorOperators.ADD) - 8f * corr1;
    }

    /** {@link #dotQ4_0Q8_0Rows2} on native memory at absolute address {@code w0}, through {@link #ALL}. */
    static void dotQ4_0Q8_0Rows2Native(long w0, long rowBytes, long ahead, float[] xs, float[] xsum, int blocks,
                                 float[] out, int o) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        float corr0 = 0f;
        float corr1 = 0f;
        long w1 = w0 + rowBytes;
        int touch = 0;
        for (int b = 0; b < blocks; b++) {
            long base0 = w0 + (long) b * Q4_0_BYTES;
            long base1 = w1 + (long) b * Q4_0_BYTES;
            int x0 = b * QK;
            // Touch the line the hardware prefetcher has not fetched yet: a load far ahead whose
            // value is dropped into "touch" keeps more cache misses in flight.
            touch += ALL.get(java.lang.foreign.ValueLayout.JAVA_BYTE, base0 + ahead);
            float d0 = Float.float16ToFloat(ALL.get(LE_SHORT, base0));
            float d1 = Float.float16ToFloat(ALL.get(LE_SHORT, base1));
            FloatVector blk0 = FloatVector.zero(F);
            FloatVector blk1 = FloatVector.zero(F);
            for (int off = 0; off < 16; off += BQ.length()) {
                ByteVector q0 = ByteVector.fromMemorySegment(BQ, ALL, base0 + 2 + off, LE);
                ByteVector q1 = ByteVector.fromMemorySegment(BQ, ALL, base1 + 2 + off, LE);
                for (int p = 0; p < PARTS; p++) {
                    int xo = x0 + off + p * L;
                    FloatVector xlo = FloatVector.fromArray(F, xs, xo);
                    FloatVector xhi = FloatVector.fromArray(F, xs, xo + 16);
                    IntVector i0 = (IntVector) q0.convertShape(VectorOperators.B2I, I, p);
                    IntVector i1 = (IntVector) q1.convertShape(VectorOperators.B2I, I, p);
                    blk0 = ((FloatVector) i0.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, blk0);
                    blk0 = ((FloatVector) i0.lanewise(VectorOperators.LSHR, 4).and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xhi, blk0);
                    blk1 = ((FloatVector) i1.and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xlo, blk1);
                    blk1 = ((FloatVector) i1.lanewise(VectorOperators.LSHR, 4).and(15).convertShape(VectorOperators.I2F, F, 0)).fma(xhi, blk1);
                }
            }
            acc0 = blk0.fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = blk1.fma(FloatVector.broadcast(F, d1), acc1);
            float s = xsum[b];
            corr0 += d0 * s;
            corr1 += d1 * s;
        }
        out[o] = acc0.reduceLanes(VectorOperators.ADD) - 8f * corr0 + (touch == Integer.MIN_VALUE ? 1f : 0f);
        out[o + 1] = acc1.reduceLanes(VectorOperators.ADD) - 8f * corr1;
    }

    // ---- Q8_0 --------------------------------------------------------------------------------------

    /** One Q8_0 weight row . Q8_0 activations expanded to floats (as {@link #dotQ4_0Q8_0}). */
    static float dotQ8_0Q8_0(MemorySegment w, long w0, float[] xs, int xb, int blocks) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * Q8_0_BYTES;
            int x0 = (xb + b) * QK;
            float d = scale(w, base);
            FloatVector blk = FloatVector.zero(F);
            for (int o = 0; o < QK; o += BQ.length()) {
                ByteVector q = ByteVector.fromMemorySegment(BQ, w, base + 2 + o, LE);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector wf = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
                    blk = wf.fma(FloatVector.fromArray(F, xs, x0 + o + p * L), blk);
                }
            }
            acc = blk.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Two adjacent Q8_0 rows at once, as {@link #dotQ4_0Q8_0Rows2}. */
    static void dotQ8_0Q8_0Rows2(MemorySegment w, long w0, long rowBytes, float[] xs, int blocks, float[] out, int o) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long w1 = w0 + rowBytes;
        for (int b = 0; b < blocks; b++) {
            long base0 = w0 + (long) b * Q8_0_BYTES;
            long base1 = w1 + (long) b * Q8_0_BYTES;
            int x0 = b * QK;
            float d0 = scale(w, base0);
            float d1 = scale(w, base1);
            FloatVector blk0 = FloatVector.zero(F);
            FloatVector blk1 = FloatVector.zero(F);
            for (int off = 0; off < QK; off += BQ.length()) {
                ByteVector q0 = ByteVector.fromMemorySegment(BQ, w, base0 + 2 + off, LE);
                ByteVector q1 = ByteVector.fromMemorySegment(BQ, w, base1 + 2 + off, LE);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xv = FloatVector.fromArray(F, xs, x0 + off + p * L);
                    blk0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, p)).fma(xv, blk0);
                    blk1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, p)).fma(xv, blk1);
                }
            }
            acc0 = blk0.fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = blk1.fma(FloatVector.broadcast(F, d1), acc1);
        }
        out[o] = acc0.reduceLanes(VectorOperators.ADD);
        out[o + 1] = acc1.reduceLanes(VectorOperators.ADD);
    }
}
