package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.I;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.SH;

import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.scalar.ScalarKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Attention of one query head over a {@link TiledKvCache}, with exactly the oracle's arithmetic
 * ({@code ScalarKernels.attendHead}): the results are its bits.
 *
 * <ul>
 *   <li><b>Scores</b>, {@link Simd#L} positions at once: lane {@code j} sums
 *       {@code q[i] * k_j[i]} over {@code i} in order (one multiply and one add per step, as the
 *       oracle's loop), then is scaled; soft-capping runs per position in scalar code.
 *   <li><b>Flash path</b> (f16 cache, batches under {@value ScalarKernels#FLASH_TILE_QUERIES}
 *       queries: llama.cpp's flash attention): the query rounded to f16, positions in order with an
 *       online softmax, the value accumulator held as floats that are exact f16 values and rounded
 *       to f16 after every operation ({@link #roundToF16}), vectorized over the value dimension
 *       (each element's sequence of operations is the oracle's).
 *   <li><b>Float path</b> (wide batches, or an f32 cache): all scores, the oracle's softmax, then
 *       {@code out += a_p * v_p} position by position, vectorized over the value dimension.
 * </ul>
 */
final class TiledAttention {
    /** Below this magnitude f16 is subnormal: its grid is 2^-24 (the ulp of 0.5 in float). */
    private static final float HALF = 0.5f;
    /** The smallest magnitude that rounds to f16 infinity (halfway between 65504 and 65536). */
    private static final float F16_OVERFLOW = 65520f;
    private static final float TWO_POW_112 = 0x1p112f;

    private TiledAttention() {}

    /**
     * {@code x} rounded to the nearest float16 value (ties to even), as a float: the value of
     * {@code Float.float16ToFloat(Float.floatToFloat16(x))} in every lane, subnormals, overflow to
     * infinity, signed zeros and NaN included. {@code (|x| + c) - c} with {@code c = 2^(e+13)}
     * (at least 1/2) rounds {@code |x|} of exponent {@code e} to a multiple of {@code 2^(e-10)},
     * the f16 spacing there, by one float addition.
     */
    static FloatVector roundToF16(FloatVector x) {
        IntVector bits = x.reinterpretAsInts();
        IntVector mag = bits.and(0x7fffffff);
        FloatVector abs = mag.reinterpretAsFloats();
        FloatVector c = mag.and(0x7f800000).add(13 << 23).reinterpretAsFloats().max(HALF);
        FloatVector r = abs.add(c).sub(c);
        r = r.blend(Float.POSITIVE_INFINITY, abs.compare(VectorOperators.GE, F16_OVERFLOW));
        return r.reinterpretAsInts().or(bits.and(0x80000000)).reinterpretAsFloats();
    }

    // ---- kernels: each spells out its vector code (no vector crosses a call), see IntKernels ---------

    /**
     * The scores of the {@code L} positions of an f16 key tile at {@code k[base..]} into
     * {@code lanes}: {@code scale * sum_i q[i] * k_j[i]}, each lane summing in order of {@code i}.
     */
    static void scoresF16(short[] k, int base, float[] q, int kd, float scale, float[] lanes) {
        FloatVector s = FloatVector.zero(F);
        for (int i = 0, o = base; i < kd; i++, o += L) {
            IntVector h = (IntVector) ShortVector.fromArray(SH, k, o).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            IntVector mag = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
            IntVector bits = mag.reinterpretAsFloats().mul(TWO_POW_112).reinterpretAsInts();
            bits = bits.blend(mag.or(0x7f800000), h.and(0x7c00).eq(0x7c00));
            FloatVector kv = bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            s = s.add(kv.mul(q[i]));
        }
        s.mul(scale).intoArray(lanes, 0);
    }

    /** {@link #scoresF16} for an f32 key tile. */
    static void scoresF32(float[] k, int base, float[] q, int kd, float scale, float[] lanes) {
        FloatVector s = FloatVector.zero(F);
        for (int i = 0, o = base; i < kd; i++, o += L) {
            s = s.add(FloatVector.fromArray(F, k, o).mul(q[i]));
        }
        s.mul(scale).intoArray(lanes, 0);
    }

    /**
     * One step of the f16 value accumulator over {@code n} elements: when {@code rescale},
     * {@code acc = f16(acc * ms)}; then {@code acc = f16(fma(v, vs, acc))} with {@code v} the f16
     * values at {@code v[v0..]}. Element by element the oracle's operations; {@code n} may end in a
     * partial vector.
     */
    static void flashStep(float[] acc, short[] v, int v0, int n, boolean rescale, float ms, float vs) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector a = FloatVector.fromArray(F, acc, i, m);
            if (rescale) {
                a = roundToF16(a.mul(ms));
            }
            IntVector h = (IntVector) ShortVector.fromArray(SH, v, v0 + i, SH.indexInRange(i, n)).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            IntVector mag = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
            IntVector bits = mag.reinterpretAsFloats().mul(TWO_POW_112).reinterpretAsInts();
            bits = bits.blend(mag.or(0x7f800000), h.and(0x7c00).eq(0x7c00));
            FloatVector vv = bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector x = vv.fma(FloatVector.broadcast(F, vs), a);
            // round to f16 (roundToF16, spelled out)
            IntVector xb = x.reinterpretAsInts();
            IntVector xm = xb.and(0x7fffffff);
            FloatVector abs = xm.reinterpretAsFloats();
            FloatVector c = xm.and(0x7f800000).add(13 << 23).reinterpretAsFloats().max(HALF);
            FloatVector r = abs.add(c).sub(c);
            r = r.blend(Float.POSITIVE_INFINITY, abs.compare(VectorOperators.GE, F16_OVERFLOW));
            r.reinterpretAsInts().or(xb.and(0x80000000)).reinterpretAsFloats().intoArray(acc, i, m);
        }
    }

    /** {@code out[o..o+n) += a * v[v0..]} (multiply, then add) for f16 values. */
    static void addWeightedF16(float[] out, int o, short[] v, int v0, int n, float a) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            IntVector h = (IntVector) ShortVector.fromArray(SH, v, v0 + i, SH.indexInRange(i, n)).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            IntVector mag = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
            IntVector bits = mag.reinterpretAsFloats().mul(TWO_POW_112).reinterpretAsInts();
            bits = bits.blend(mag.or(0x7f800000), h.and(0x7c00).eq(0x7c00));
            FloatVector vv = bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
            FloatVector.fromArray(F, out, o + i, m).add(vv.mul(a)).intoArray(out, o + i, m);
        }
    }

    /** {@link #addWeightedF16} for f32 values. */
    static void addWeightedF32(float[] out, int o, float[] v, int v0, int n, float a) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, out, o + i, m).add(FloatVector.fromArray(F, v, v0 + i, m).mul(a)).intoArray(out, o + i, m);
        }
    }

    /** {@code out[o..o+n) = acc * inv}. */
    static void scale(float[] acc, int n, float inv, float[] out, int o) {
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, acc, i, m).mul(inv).intoArray(out, o + i, m);
        }
    }

    private static float softcap(float s, float cap) {
        return cap > 0f ? cap * (float) Math.tanh(s / cap) : s;
    }

    /**
     * Query {@code q[qOff..qOff+keyDim)} at position {@code pos} against kv head {@code kvh} of
     * layer {@code layer}: {@code out[oOff..oOff+valueDim)}.
     *
     * @param flash  the f16 flash path (needs an f16 cache)
     * @param qh     scratch of {@code keyDim} floats
     * @param lanes  scratch of {@link Simd#L} floats
     * @param scores scratch of {@code window or pos+1} floats (float path)
     * @param acc    scratch of {@code valueDim} floats (flash path)
     */
    static void attend(TiledKvCache c, int layer, float[] q, int qOff, int pos, int kvh, AttentionSpec spec, boolean flash,
                       float[] out, int oOff, float[] qh, float[] lanes, float[] scores, float[] acc) {
        int kd = spec.keyDim();
        int vd = spec.valueDim();
        int lo = spec.window() > 0 ? Math.max(0, pos - spec.window() + 1) : 0;
        int cap = c.capacity(layer);
        Object keys = c.keys(layer);
        Object values = c.values(layer);
        int valueRow = c.valueRow();
        for (int i = 0; i < kd; i++) {
            qh[i] = flash ? Float.float16ToFloat(Float.floatToFloat16(q[qOff + i])) : q[qOff + i];
        }
        short[] k16 = keys instanceof short[] s ? s : null;
        short[] v16 = values instanceof short[] s ? s : null;
        float m = Float.NEGATIVE_INFINITY;
        float sum = 0f;
        if (flash) {
            java.util.Arrays.fill(acc, 0, vd, 0f);
        }
        for (int p = lo; p <= pos; ) {
            int slot = p % cap;
            int lane = slot % L;
            int run = Math.min(Math.min(L - lane, pos - p + 1), cap - slot);
            int base = c.tileBase(slot, kvh);
            if (k16 != null) {
                scoresF16(k16, base, qh, kd, spec.scale(), lanes);
            } else {
                scoresF32((float[]) keys, base, qh, kd, spec.scale(), lanes);
            }
            for (int j = 0; j < run; j++, p++, slot++) {
                float s = softcap(lanes[lane + j], spec.softcap());
                if (!flash) {
                    scores[p - lo] = s;
                    continue;
                }
                // the oracle's online softmax step, then its f16 accumulator update
                float ms = 1f;
                float vs = 1f;
                boolean rescale = s > m;
                if (rescale) {
                    float old = m;
                    m = s;
                    ms = (float) Math.exp(old - m);
                } else {
                    vs = (float) Math.exp(s - m);
                }
                flashStep(acc, v16, slot * valueRow + kvh * vd, vd, rescale, ms, vs);
                sum = sum * ms + vs;
            }
        }
        if (flash) {
            scale(acc, vd, sum == 0f ? 0f : 1f / sum, out, oOff);
            return;
        }
        ScalarKernels.softmax(scores, 0, pos - lo + 1);
        java.util.Arrays.fill(out, oOff, oOff + vd, 0f);
        for (int p = lo; p <= pos; p++) {
            int v0 = (p % cap) * valueRow + kvh * vd;
            if (v16 != null) {
                addWeightedF16(out, oOff, v16, v0, vd, scores[p - lo]);
            } else {
                addWeightedF32(out, oOff, (float[]) values, v0, vd, scores[p - lo]);
            }
        }
    }
}
