package dev.edgellm.core.backend.scalar;

import static dev.edgellm.core.tensor.Codecs.LE_FLOAT;
import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.Q4_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.Q8_0_BYTES;
import static dev.edgellm.core.tensor.Codecs.QK;

import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.cpu.HostKvCache;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.tensor.KQuants;
import dev.edgellm.core.tensor.LegacyQuants;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference kernels: plain Java loops, written for clarity. They define the results every
 * other backend is measured against, and serve as the scalar tails of the SIMD kernels.
 */
public final class ScalarKernels {
    private static final float GELU_COEF_A = 0.044715f;
    private static final float SQRT_2_OVER_PI = 0.79788456080286535587989211986876f;

    /** Queries per attention call from which llama.cpp's CPU flash attention takes its tiled float32 path (GGML_FA_TILE_Q). */
    public static final int FLASH_TILE_QUERIES = 64;

    private ScalarKernels() {}

    // ---- dot products of one weight row with one activation row -----------------------------------

    /** Q4_0 weight row (at byte {@code w0}) . Q8_0 activations (blocks from {@code xb}): integer sums per block. */
    public static float dotQ4_0Q8_0(MemorySegment w, long w0, byte[] xq, float[] xd, int xb, int blocks) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * Q4_0_BYTES;
            int q0 = (xb + b) * QK;
            int isum = 0;
            for (int j = 0; j < 16; j++) {
                int packed = w.get(ValueLayout.JAVA_BYTE, base + 2 + j) & 0xFF;
                isum += ((packed & 0x0F) - 8) * xq[q0 + j] + ((packed >>> 4) - 8) * xq[q0 + j + 16];
            }
            sum += isum * (Codecs.f16ToF32(w.get(LE_SHORT, base)) * xd[xb + b]);
        }
        return sum;
    }

    /** Q8_0 weight row . Q8_0 activations. */
    public static float dotQ8_0Q8_0(MemorySegment w, long w0, byte[] xq, float[] xd, int xb, int blocks) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * Q8_0_BYTES;
            int q0 = (xb + b) * QK;
            int isum = 0;
            for (int j = 0; j < QK; j++) {
                isum += w.get(ValueLayout.JAVA_BYTE, base + 2 + j) * xq[q0 + j];
            }
            sum += isum * (Codecs.f16ToF32(w.get(LE_SHORT, base)) * xd[xb + b]);
        }
        return sum;
    }

    /** Q5_0 weight row . Q8_0 activations (ggml_vec_dot_q5_0_q8_0_generic). */
    public static float dotQ5_0Q8_0(MemorySegment w, long w0, byte[] xq, float[] xd, int xb, int blocks) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * LegacyQuants.Q5_0_BYTES;
            int qh = LegacyQuants.fifthBits(w, base + LegacyQuants.Q5_0_QH);
            int q0 = (xb + b) * QK;
            int isum = 0;
            for (int j = 0; j < 16; j++) {
                int packed = w.get(ValueLayout.JAVA_BYTE, base + LegacyQuants.Q5_0_QS + j) & 0xFF;
                int x0 = ((packed & 0x0F) | (((qh >>> j) & 1) << 4)) - 16;
                int x1 = ((packed >>> 4) | (((qh >>> (j + 16)) & 1) << 4)) - 16;
                isum += x0 * xq[q0 + j] + x1 * xq[q0 + j + 16];
            }
            sum += (Codecs.f16ToF32(w.get(LE_SHORT, base)) * xd[xb + b]) * isum;
        }
        return sum;
    }

    /**
     * Q4_1 weight row . Q8_1 activations (ggml_vec_dot_q4_1_q8_1_generic): per block
     * {@code d_w*d_x*sum(q_w*q_x) + m_w*s_x}, where {@code s_x} is the activation block's {@code d*sum(q)}.
     */
    public static float dotQ4_1Q8_1(MemorySegment w, long w0, byte[] xq, float[] xd, float[] xs, int xb, int blocks) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * LegacyQuants.Q4_1_BYTES;
            int q0 = (xb + b) * QK;
            int isum = 0;
            for (int j = 0; j < 16; j++) {
                int packed = w.get(ValueLayout.JAVA_BYTE, base + LegacyQuants.Q4_1_QS + j) & 0xFF;
                isum += (packed & 0x0F) * xq[q0 + j] + (packed >>> 4) * xq[q0 + j + 16];
            }
            sum += (Codecs.f16ToF32(w.get(LE_SHORT, base)) * xd[xb + b]) * isum + Codecs.f16ToF32(w.get(LE_SHORT, base + 2)) * xs[xb + b];
        }
        return sum;
    }

    /** Q5_1 weight row . Q8_1 activations (ggml_vec_dot_q5_1_q8_1_generic). */
    public static float dotQ5_1Q8_1(MemorySegment w, long w0, byte[] xq, float[] xd, float[] xs, int xb, int blocks) {
        float sum = 0f;
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * LegacyQuants.Q5_1_BYTES;
            int qh = LegacyQuants.fifthBits(w, base + LegacyQuants.Q5_1_QH);
            int q0 = (xb + b) * QK;
            int isum = 0;
            for (int j = 0; j < 16; j++) {
                int packed = w.get(ValueLayout.JAVA_BYTE, base + LegacyQuants.Q5_1_QS + j) & 0xFF;
                int x0 = (packed & 0x0F) | (((qh >>> j) & 1) << 4);
                int x1 = (packed >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                isum += x0 * xq[q0 + j] + x1 * xq[q0 + j + 16];
            }
            sum += (Codecs.f16ToF32(w.get(LE_SHORT, base)) * xd[xb + b]) * isum + Codecs.f16ToF32(w.get(LE_SHORT, base + 2)) * xs[xb + b];
        }
        return sum;
    }

    /**
     * Q4_K weight row . Q8_K activations (super-blocks from {@code xb}), with the arithmetic of
     * ggml_vec_dot_q4_K_q8_K_generic: per super-block, integer sums {@code scale_j * q_w * q_x} in
     * eight lanes (element index mod 8), added to eight float lanes as {@code d_w*d_x*lane}; the
     * mins enter as {@code -dmin_w*d_x*sum_j(bsum_j * min_{j/2})}; the lanes are added at the end.
     */
    public static float dotQ4_KQ8_K(MemorySegment w, long w0, byte[] xq, float[] xd, short[] xsums, int xb, int blocks) {
        return dotQ45_KQ8_K(w, w0, false, xq, xd, xsums, xb, blocks);
    }

    /** Q5_K weight row . Q8_K activations (ggml_vec_dot_q5_K_q8_K_generic); see {@link #dotQ4_KQ8_K}. */
    public static float dotQ5_KQ8_K(MemorySegment w, long w0, byte[] xq, float[] xd, short[] xsums, int xb, int blocks) {
        return dotQ45_KQ8_K(w, w0, true, xq, xd, xsums, xb, blocks);
    }

    private static float dotQ45_KQ8_K(MemorySegment w, long w0, boolean five, byte[] xq, float[] xd, short[] xsums, int xb, int blocks) {
        float[] sums = new float[8];
        int[] aux = new int[8];
        float sumf = 0f;
        int bytes = five ? KQuants.Q5_K_BYTES : KQuants.Q4_K_BYTES;
        long scales = five ? KQuants.Q5_K_SCALES : KQuants.Q4_K_SCALES;
        long qs = five ? KQuants.Q5_K_QS : KQuants.Q4_K_QS;
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * bytes;
            int x0 = (xb + b) * KQuants.QK_K;
            java.util.Arrays.fill(aux, 0);
            for (int sub = 0; sub < 8; sub++) {
                int scale = KQuants.scale(w, base + scales, sub);
                long q = base + qs + 32L * (sub / 2);
                int shift = (sub & 1) * 4;
                for (int l = 0; l < 32; l++) {
                    int a = ((w.get(ValueLayout.JAVA_BYTE, q + l) & 0xFF) >>> shift) & 0xF;
                    if (five && (w.get(ValueLayout.JAVA_BYTE, base + KQuants.Q5_K_QH + l) & (1 << sub)) != 0) {
                        a += 16;
                    }
                    aux[l & 7] += scale * (a * xq[x0 + 32 * sub + l]);
                }
            }
            int sumi = 0;
            for (int j = 0; j < KQuants.Q8_K_SUMS; j++) {
                sumi += xsums[(xb + b) * KQuants.Q8_K_SUMS + j] * KQuants.min(w, base + scales, j / 2);
            }
            float d = Codecs.f16ToF32(w.get(LE_SHORT, base)) * xd[xb + b];
            for (int l = 0; l < 8; l++) {
                sums[l] += d * aux[l];
            }
            float dmin = Codecs.f16ToF32(w.get(LE_SHORT, base + 2)) * xd[xb + b];
            sumf -= dmin * sumi;
        }
        for (int l = 0; l < 8; l++) {
            sumf += sums[l];
        }
        return sumf;
    }

    /**
     * Q6_K weight row . Q8_K activations, with the arithmetic of ggml_vec_dot_q6_K_q8_K_generic:
     * integer sums {@code scale_j * (q_w - 32) * q_x} per 16-element sub-block in eight lanes, added
     * to eight float lanes as {@code d_w*d_x*lane} per super-block, the lanes added at the end.
     */
    public static float dotQ6_KQ8_K(MemorySegment w, long w0, byte[] xq, float[] xd, int xb, int blocks) {
        float[] sums = new float[8];
        int[] aux = new int[8];
        for (int b = 0; b < blocks; b++) {
            long base = w0 + (long) b * KQuants.Q6_K_BYTES;
            int x0 = (xb + b) * KQuants.QK_K;
            java.util.Arrays.fill(aux, 0);
            for (int e = 0; e < KQuants.QK_K; e++) {
                int scale = w.get(ValueLayout.JAVA_BYTE, base + KQuants.Q6_K_SCALES + e / 16);
                aux[e & 7] += scale * ((KQuants.q6(w, base, e) - 32) * xq[x0 + e]);
            }
            float d = Codecs.f16ToF32(w.get(LE_SHORT, base + KQuants.Q6_K_D)) * xd[xb + b];
            for (int l = 0; l < 8; l++) {
                sums[l] += d * aux[l];
            }
        }
        float sumf = 0f;
        for (int l = 0; l < 8; l++) {
            sumf += sums[l];
        }
        return sumf;
    }

    /** F16 weight row . activations already rounded to f16 precision. */
    public static float dotF16F32(MemorySegment w, long w0, float[] x, int x0, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += Codecs.f16ToF32(w.get(LE_SHORT, w0 + 2L * i)) * x[x0 + i];
        }
        return sum;
    }

    /** BF16 weight row . activations already rounded to bf16 precision. */
    public static float dotBF16F32(MemorySegment w, long w0, float[] x, int x0, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += Codecs.bf16ToF32(w.get(LE_SHORT, w0 + 2L * i)) * x[x0 + i];
        }
        return sum;
    }

    /** F32 weight row . F32 activations. */
    public static float dotF32F32(MemorySegment w, long w0, float[] x, int x0, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += w.get(LE_FLOAT, w0 + 4L * i) * x[x0 + i];
        }
        return sum;
    }

    // ---- element-wise ---------------------------------------------------------------------------------

    /** RMSNorm of rows {@code [row0, row1)}: {@code out = x / sqrt(mean(x^2) + eps) * w}; out may alias x. */
    public static void rmsNorm(float[] x, float[] out, float[] w, int width, int row0, int row1, float eps) {
        for (int r = row0; r < row1; r++) {
            int o = r * width;
            double ss = 0;
            for (int i = 0; i < width; i++) {
                ss += x[o + i] * x[o + i];
            }
            float scale = (float) (1.0 / Math.sqrt((float) (ss / width) + eps));
            for (int i = 0; i < width; i++) {
                out[o + i] = x[o + i] * scale * w[i];
            }
        }
    }

    /** GELU with the tanh approximation, exact in float (ggml_gelu_f32 without the table). */
    public static float gelu(float x) {
        return 0.5f * x * (1.0f + (float) Math.tanh(SQRT_2_OVER_PI * x * (1.0f + GELU_COEF_A * x * x)));
    }

    public static float silu(float x) {
        return x / (1.0f + (float) Math.exp(-x));
    }

    public static void geluMul(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            gate[i] = geluTable(gate[i]) * up[i];
        }
    }

    /** GELU of every float16 input, rounded to float16: llama.cpp's CPU table (GGML_GELU_FP16). */
    private static final float[] GELU_F16 = new float[1 << 16];

    static {
        for (int i = 0; i < GELU_F16.length; i++) {
            GELU_F16[i] = Codecs.f16ToF32(Codecs.f32ToF16(gelu(Codecs.f16ToF32((short) i))));
        }
    }

    /**
     * GELU as llama.cpp's CPU backend computes it: the input rounded to float16 indexes a table of
     * float16 results; saturated outside [-10, 10].
     */
    public static float geluTable(float x) {
        if (x <= -10f) {
            return 0f;
        }
        if (x >= 10f) {
            return x;
        }
        return GELU_F16[Codecs.f32ToF16(x) & 0xFFFF];
    }

    public static void siluMul(float[] gate, float[] up, int from, int to) {
        for (int i = from; i < to; i++) {
            gate[i] = silu(gate[i]) * up[i];
        }
    }

    public static void add(float[] x, float[] y, int from, int to) {
        for (int i = from; i < to; i++) {
            x[i] += y[i];
        }
    }

    /**
     * Rotates head vectors of {@code n} tokens in place (ggml_rope_f32 with ext_factor 0): angle
     * {@code theta_i = pos * freqScale * base^(-2i/dims)} computed by repeated multiplication as ggml does.
     */
    public static void rope(float[] x, int n, int heads, int headDim, int startPos, RopeSpec rope) {
        int dims = rope.dims();
        float thetaScale = (float) Math.pow(rope.freqBase(), -2.0 / dims);
        float[] cos = new float[dims / 2];
        float[] sin = new float[dims / 2];
        for (int t = 0; t < n; t++) {
            float theta = startPos + t;
            for (int i = 0; i < dims / 2; i++) {
                float angle = rope.freqScale() * theta;
                cos[i] = (float) Math.cos(angle);
                sin[i] = (float) Math.sin(angle);
                theta *= thetaScale;
            }
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                for (int i = 0; i < dims / 2; i++) {
                    int i0 = rope.neox() ? o + i : o + 2 * i;
                    int i1 = rope.neox() ? o + i + dims / 2 : o + 2 * i + 1;
                    float x0 = x[i0];
                    float x1 = x[i1];
                    x[i0] = x0 * cos[i] - x1 * sin[i];
                    x[i1] = x0 * sin[i] + x1 * cos[i];
                }
            }
        }
    }

    /** In-place softmax of {@code x[from..to)}. */
    public static void softmax(float[] x, int from, int to) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = from; i < to; i++) {
            max = Math.max(max, x[i]);
        }
        float sum = 0f;
        for (int i = from; i < to; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        float inv = 1f / sum;
        for (int i = from; i < to; i++) {
            x[i] *= inv;
        }
    }

    /**
     * Attention of one query over an f16 cache with the arithmetic of llama.cpp's CPU flash
     * attention ({@code ggml_compute_forward_flash_attn_ext_f16}, which llama.cpp uses by default):
     * positions {@code lo..pos} in order, an online softmax (running maximum {@code M} and sum
     * {@code S}, in float), and the value accumulator kept in <em>f16</em>: each step rescales it by
     * {@code exp(M_old - M)} when the maximum grows and adds {@code v * exp(s - M)}, rounding every
     * element to f16; the result is the accumulator times {@code 1/S}. Matching this rounding (an
     * error of ~2^-11 per step) is what brings the logits of the quantized reference models within
     * llama.cpp's own rounding.
     *
     * @param qh  the query, already rounded to f16
     * @param acc scratch of {@code valueDim} shorts
     */
    public static void attendHeadFlashF16(float[] qh, HostKvCache cache, int layer, int lo, int pos, int kvh, AttentionSpec spec,
                                          float[] out, int oOff, short[] acc) {
        int kd = spec.keyDim();
        int vd = spec.valueDim();
        short[] keys = (short[]) cache.keys(layer);
        short[] values = (short[]) cache.values(layer);
        int keyRow = cache.keyRow();
        int valueRow = cache.valueRow();
        java.util.Arrays.fill(acc, 0, vd, (short) 0);
        float m = Float.NEGATIVE_INFINITY;
        float sum = 0f;
        for (int p = lo; p <= pos; p++) {
            int slot = cache.slot(layer, p);
            int k0 = slot * keyRow + kvh * kd;
            float s = 0f;
            for (int i = 0; i < kd; i++) {
                s += qh[i] * Float.float16ToFloat(keys[k0 + i]);
            }
            s *= spec.scale();
            if (spec.softcap() > 0f) {
                s = spec.softcap() * (float) Math.tanh(s / spec.softcap());
            }
            float ms = 1f;
            float vs = 1f;
            if (s > m) {
                float old = m;
                m = s;
                ms = (float) Math.exp(old - m);
                for (int i = 0; i < vd; i++) {
                    acc[i] = Float.floatToFloat16(Float.float16ToFloat(acc[i]) * ms);
                }
            } else {
                vs = (float) Math.exp(s - m);
            }
            int v0 = slot * valueRow + kvh * vd;
            for (int i = 0; i < vd; i++) {
                acc[i] = Float.floatToFloat16(Math.fma(Float.float16ToFloat(values[v0 + i]), vs, Float.float16ToFloat(acc[i])));
            }
            sum = sum * ms + vs;
        }
        float inv = sum == 0f ? 0f : 1f / sum;
        for (int i = 0; i < vd; i++) {
            out[oOff + i] = Float.float16ToFloat(acc[i]) * inv;
        }
    }

    /**
     * Attention of query {@code t} (position {@code startPos + t}), head {@code h} over the cache.
     * With an f16 cache: the query rounded to f16 and {@link #attendHeadFlashF16}, as llama.cpp
     * computes it; with an f32 cache: q.k, a softmax over the scores, and the weighted sum of values,
     * in float.
     *
     * @param scores scratch of at least {@code window or pos+1} floats
     * @param qh     scratch of {@code keyDim} floats
     */
    public static void attendHead(float[] q, HostKvCache cache, int layer, int startPos, int t, int h,
                                  AttentionSpec spec, float[] out, float[] scores, float[] qh) {
        attendHead(q, cache, layer, startPos, t, h, spec, out, scores, qh, false);
    }

    /**
     * As {@link #attendHead(float[], HostKvCache, int, int, int, int, AttentionSpec, float[], float[], float[])};
     * {@code wideBatch} selects the arithmetic llama.cpp uses for a batch of {@value #FLASH_TILE_QUERIES} or
     * more queries (its tiled flash attention): the query stays float32 and values accumulate in float32.
     */
    public static void attendHead(float[] q, HostKvCache cache, int layer, int startPos, int t, int h,
                                  AttentionSpec spec, float[] out, float[] scores, float[] qh, boolean wideBatch) {
        int pos = startPos + t;
        int lo = spec.window() > 0 ? Math.max(0, pos - spec.window() + 1) : 0;
        int kvh = h / (spec.heads() / spec.kvHeads());
        int kd = spec.keyDim();
        int vd = spec.valueDim();
        int qOff = (t * spec.heads() + h) * kd;
        boolean f16 = cache.spec().f16();
        boolean roundQuery = f16 && !wideBatch;
        for (int i = 0; i < kd; i++) {
            qh[i] = roundQuery ? Codecs.f16ToF32(Codecs.f32ToF16(q[qOff + i])) : q[qOff + i];
        }
        if (roundQuery) {
            attendHeadFlashF16(qh, cache, layer, lo, pos, kvh, spec, out, (t * spec.heads() + h) * vd, new short[vd]);
            return;
        }
        int keyRow = cache.keyRow();
        int valueRow = cache.valueRow();
        Object keys = cache.keys(layer);
        Object values = cache.values(layer);
        for (int p = lo; p <= pos; p++) {
            int k0 = cache.slot(layer, p) * keyRow + kvh * kd;
            float s = 0f;
            if (f16) {
                short[] kk = (short[]) keys;
                for (int i = 0; i < kd; i++) {
                    s += qh[i] * Codecs.f16ToF32(kk[k0 + i]);
                }
            } else {
                float[] kk = (float[]) keys;
                for (int i = 0; i < kd; i++) {
                    s += qh[i] * kk[k0 + i];
                }
            }
            s *= spec.scale();
            if (spec.softcap() > 0f) {
                s = spec.softcap() * (float) Math.tanh(s / spec.softcap());
            }
            scores[p - lo] = s;
        }
        softmax(scores, 0, pos - lo + 1);
        int oOff = (t * spec.heads() + h) * vd;
        for (int i = 0; i < vd; i++) {
            out[oOff + i] = 0f;
        }
        for (int p = lo; p <= pos; p++) {
            int v0 = cache.slot(layer, p) * valueRow + kvh * vd;
            float a = scores[p - lo];
            if (f16) {
                short[] vv = (short[]) values;
                for (int i = 0; i < vd; i++) {
                    out[oOff + i] += a * Codecs.f16ToF32(vv[v0 + i]);
                }
            } else {
                float[] vv = (float[]) values;
                for (int i = 0; i < vd; i++) {
                    out[oOff + i] += a * vv[v0 + i];
                }
            }
        }
    }
}
