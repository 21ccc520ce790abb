package dev.edgellm.core.tensor;

import static dev.edgellm.core.tensor.Codecs.LE_SHORT;

import dev.edgellm.core.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The K-quant super-block formats (256 weights per block, ggml-common.h {@code block_q4_K},
 * {@code block_q5_K}, {@code block_q6_K}, {@code block_q8_K}): byte offsets within a block, the
 * 6-bit scale unpacking, decoding to floats ({@code dequantize_row_q*_K}) and the Q8_K activation
 * quantizer ({@code quantize_row_q8_K_ref}, which is also what llama.cpp's x86 build runs).
 */
public final class KQuants {
    /** Weights per super-block (ggml's QK_K). */
    public static final int QK_K = 256;

    /** Q4_K: fp16 d at 0, fp16 dmin at 2, 12 bytes of packed scales/mins at 4, 128 bytes of nibbles at 16. */
    public static final int Q4_K_BYTES = GgmlType.Q4_K.bytesPerBlock();
    public static final int Q4_K_SCALES = 4;
    public static final int Q4_K_QS = 16;

    /** Q5_K: as Q4_K, then 32 bytes of fifth bits at 16 and 128 bytes of nibbles at 48. */
    public static final int Q5_K_BYTES = GgmlType.Q5_K.bytesPerBlock();
    public static final int Q5_K_SCALES = 4;
    public static final int Q5_K_QH = 16;
    public static final int Q5_K_QS = 48;

    /** Q6_K: 128 bytes ql at 0, 64 bytes qh at 128, 16 int8 scales at 192, fp16 d at 208. */
    public static final int Q6_K_BYTES = GgmlType.Q6_K.bytesPerBlock();
    public static final int Q6_K_QH = 128;
    public static final int Q6_K_SCALES = 192;
    public static final int Q6_K_D = 208;

    /** Sums of 16 quants that a Q8_K block keeps (its {@code bsums}). */
    public static final int Q8_K_SUMS = QK_K / 16;

    private KQuants() {}

    /**
     * Scale ({@code [0]}) and min ({@code [1]}) of sub-block {@code j} (0..7) from the 12 packed
     * bytes at {@code scales} (ggml's {@code get_scale_min_k4}): sub-blocks 0-3 keep their 6 bits in
     * the low bits of bytes {@code j} (scale) and {@code j+4} (min); sub-blocks 4-7 keep their low 4
     * bits in byte {@code j+4} (scale low nibble, min high nibble) and their top 2 bits in the top
     * bits of bytes {@code j-4} (scale) and {@code j} (min).
     */
    public static int scale(MemorySegment s, long scales, int j) {
        if (j < 4) {
            return u8(s, scales + j) & 63;
        }
        return (u8(s, scales + j + 4) & 0xF) | ((u8(s, scales + j - 4) >>> 6) << 4);
    }

    /** The min of sub-block {@code j}; see {@link #scale}. */
    public static int min(MemorySegment s, long scales, int j) {
        if (j < 4) {
            return u8(s, scales + j + 4) & 63;
        }
        return (u8(s, scales + j + 4) >>> 4) | ((u8(s, scales + j) >>> 6) << 4);
    }

    /** Decodes {@code blocks} Q4_K blocks at byte {@code base} into {@code out[off..]}. */
    public static void dequantizeQ4_K(MemorySegment s, long base, float[] out, int off, int blocks) {
        for (int i = 0; i < blocks; i++) {
            long b = base + (long) i * Q4_K_BYTES;
            float d = Codecs.f16ToF32(s.get(LE_SHORT, b));
            float dmin = Codecs.f16ToF32(s.get(LE_SHORT, b + 2));
            int o = off + i * QK_K;
            for (int j = 0; j < QK_K / 64; j++) {
                float d1 = d * scale(s, b + Q4_K_SCALES, 2 * j);
                float m1 = dmin * min(s, b + Q4_K_SCALES, 2 * j);
                float d2 = d * scale(s, b + Q4_K_SCALES, 2 * j + 1);
                float m2 = dmin * min(s, b + Q4_K_SCALES, 2 * j + 1);
                long q = b + Q4_K_QS + 32L * j;
                for (int l = 0; l < 32; l++) {
                    int packed = u8(s, q + l);
                    out[o + 64 * j + l] = d1 * (packed & 0xF) - m1;
                    out[o + 64 * j + 32 + l] = d2 * (packed >>> 4) - m2;
                }
            }
        }
    }

    /** Decodes {@code blocks} Q5_K blocks at byte {@code base} into {@code out[off..]}. */
    public static void dequantizeQ5_K(MemorySegment s, long base, float[] out, int off, int blocks) {
        for (int i = 0; i < blocks; i++) {
            long b = base + (long) i * Q5_K_BYTES;
            float d = Codecs.f16ToF32(s.get(LE_SHORT, b));
            float dmin = Codecs.f16ToF32(s.get(LE_SHORT, b + 2));
            int o = off + i * QK_K;
            for (int j = 0; j < QK_K / 64; j++) {
                float d1 = d * scale(s, b + Q5_K_SCALES, 2 * j);
                float m1 = dmin * min(s, b + Q5_K_SCALES, 2 * j);
                float d2 = d * scale(s, b + Q5_K_SCALES, 2 * j + 1);
                float m2 = dmin * min(s, b + Q5_K_SCALES, 2 * j + 1);
                long q = b + Q5_K_QS + 32L * j;
                int u1 = 1 << (2 * j);
                int u2 = 2 << (2 * j);
                for (int l = 0; l < 32; l++) {
                    int packed = u8(s, q + l);
                    int h = u8(s, b + Q5_K_QH + l);
                    out[o + 64 * j + l] = d1 * ((packed & 0xF) + ((h & u1) != 0 ? 16 : 0)) - m1;
                    out[o + 64 * j + 32 + l] = d2 * ((packed >>> 4) + ((h & u2) != 0 ? 16 : 0)) - m2;
                }
            }
        }
    }

    /** The 6-bit quant (0..63) of element {@code e} (0..255) of the Q6_K block at {@code b}. */
    public static int q6(MemorySegment s, long b, int e) {
        int half = e / 128;          // each half of 128 has 64 ql bytes and 32 qh bytes
        int r = e % 128;
        int l = r % 32;
        int quarter = r / 32;        // 0: ql low, 1: ql+32 low, 2: ql high, 3: ql+32 high
        int ql = u8(s, b + 64L * half + l + (quarter & 1) * 32);
        int lo = quarter < 2 ? ql & 0xF : ql >>> 4;
        int hi = (u8(s, b + Q6_K_QH + 32L * half + l) >>> (2 * quarter)) & 3;
        return lo | (hi << 4);
    }

    /** Decodes {@code blocks} Q6_K blocks at byte {@code base} into {@code out[off..]}. */
    public static void dequantizeQ6_K(MemorySegment s, long base, float[] out, int off, int blocks) {
        for (int i = 0; i < blocks; i++) {
            long b = base + (long) i * Q6_K_BYTES;
            float d = Codecs.f16ToF32(s.get(LE_SHORT, b + Q6_K_D));
            int o = off + i * QK_K;
            for (int n = 0; n < 2; n++) {
                long ql = b + 64L * n;
                long qh = b + Q6_K_QH + 32L * n;
                long sc = b + Q6_K_SCALES + 8L * n;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int h = u8(s, qh + l);
                    int q1 = ((u8(s, ql + l) & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((u8(s, ql + l + 32) & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((u8(s, ql + l) >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((u8(s, ql + l + 32) >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    out[o + 128 * n + l] = d * s8(s, sc + is) * q1;
                    out[o + 128 * n + l + 32] = d * s8(s, sc + is + 2) * q2;
                    out[o + 128 * n + l + 64] = d * s8(s, sc + is + 4) * q3;
                    out[o + 128 * n + l + 96] = d * s8(s, sc + is + 6) * q4;
                }
            }
        }
    }

    /**
     * Quantizes {@code n} floats (a multiple of 256) to Q8_K as llama.cpp quantizes activations for
     * K-quant products ({@code quantize_row_q8_K_ref}): per block the value of largest magnitude
     * {@code max} sets {@code iscale = -127/max}, {@code q = min(127, nearest(iscale*x))} (ties to
     * even), {@code d = 1/iscale} kept as a float, and the sums of each 16 quants.
     *
     * @param d     receives {@code n/256} scales from {@code dOff}
     * @param q     receives {@code n} quants from {@code qOff}
     * @param sums  receives {@code n/16} sums from {@code sOff}
     */
    public static void quantizeQ8_K(float[] x, int xOff, int n, float[] d, int dOff, byte[] q, int qOff, short[] sums, int sOff) {
        for (int blk = 0; blk < n / QK_K; blk++) {
            int base = xOff + blk * QK_K;
            int qb = qOff + blk * QK_K;
            float max = 0f;
            float amax = 0f;
            for (int j = 0; j < QK_K; j++) {
                float ax = Math.abs(x[base + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[base + j];
                }
            }
            if (amax == 0f) {
                d[dOff + blk] = 0f;
                java.util.Arrays.fill(q, qb, qb + QK_K, (byte) 0);
                java.util.Arrays.fill(sums, sOff + blk * Q8_K_SUMS, sOff + (blk + 1) * Q8_K_SUMS, (short) 0);
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < QK_K; j++) {
                q[qb + j] = (byte) Math.min(127, (int) Math.rint(iscale * x[base + j]));
            }
            for (int j = 0; j < Q8_K_SUMS; j++) {
                int sum = 0;
                for (int k = 0; k < 16; k++) {
                    sum += q[qb + 16 * j + k];
                }
                sums[sOff + blk * Q8_K_SUMS + j] = (short) sum;
            }
            d[dOff + blk] = 1f / iscale;
        }
    }

    static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    static int s8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at);
    }
}
