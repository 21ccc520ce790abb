package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.L;

import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.scalar.ScalarKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

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
 *       to f16 after every operation, vectorized over the value dimension
 *       (each element's sequence of operations is the oracle's).
 *   <li><b>Float path</b> (wide batches, or an f32 cache): all scores, the oracle's softmax, then
 *       {@code out += a_p * v_p} position by position, vectorized over the value dimension.
 * </ul>
 */
final class TiledAttention {
    private TiledAttention() {}

    // ---- kernels: f16 values through plain loops that C2 vectorizes (see toFloats); the Vector API
    // code spells out its vector operations (no vector crosses a call), see IntKernels ----------------

    /**
     * The scores of the {@code L} positions of an f16 key tile at {@code k[base..]} into
     * {@code lanes}: the tile converted to floats into {@code tile} ({@code kd * L} floats), then
     * {@link #scoresF32}. The conversion is exact, so the scores are the oracle's either way.
     */
    static void scoresF16(short[] k, int base, float[] q, int kd, float scale, float[] lanes, float[] tile) {
        toFloats(k, base, tile, kd * L);
        scoresF32(tile, 0, q, kd, scale, lanes);
    }

    /**
     * {@code out[i] = f16 k[base + i]} as float, {@code i < n}. A plain loop on purpose: C2 turns it
     * into vector f16 conversions (vcvtph2ps on x86), 3-4x faster than converting the bits with
     * vector integer operations, and it needs no warm-up profile.
     */
    static void toFloats(short[] k, int base, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = Float.float16ToFloat(k[base + i]);
        }
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
     * values at {@code v[v0..]}. Element by element the oracle's operations.
     */
    static void flashStep(float[] acc, short[] v, int v0, int n, boolean rescale, float ms, float vs) {
        // plain loops: C2 vectorizes the f16 conversions both ways (see toFloats)
        if (rescale) {
            for (int i = 0; i < n; i++) {
                float a = Float.float16ToFloat(Float.floatToFloat16(acc[i] * ms));
                acc[i] = Float.float16ToFloat(Float.floatToFloat16(Math.fma(Float.float16ToFloat(v[v0 + i]), vs, a)));
            }
        } else {
            for (int i = 0; i < n; i++) {
                acc[i] = Float.float16ToFloat(Float.floatToFloat16(Math.fma(Float.float16ToFloat(v[v0 + i]), vs, acc[i])));
            }
        }
    }

    /** {@code out[o..o+n) += a * v[v0..]} (multiply, then add) for f16 values (a plain loop: see {@link #toFloats}). */
    static void addWeightedF16(float[] out, int o, short[] v, int v0, int n, float a) {
        for (int i = 0; i < n; i++) {
            out[o + i] += a * Float.float16ToFloat(v[v0 + i]);
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
     * @param tile   scratch of {@code keyDim * L} floats (an f16 key tile as floats)
     * @param scores scratch of {@code window or pos+1} floats (float path)
     * @param acc    scratch of {@code valueDim} floats (flash path)
     */
    static void attend(TiledKvCache c, int layer, float[] q, int qOff, int pos, int kvh, AttentionSpec spec, boolean flash,
                       float[] out, int oOff, float[] qh, float[] lanes, float[] tile, float[] scores, float[] acc) {
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
                scoresF16(k16, base, qh, kd, spec.scale(), lanes, tile);
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
