package dev.edgellm.core.quant;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.tensor.Codecs;

/**
 * ggml's reference weight encoders, bit for bit: {@code quantize_row_q4_0_ref} and
 * {@code quantize_row_q8_0_ref} (ggml-quants.c), and the round-to-nearest-even float16/bfloat16
 * conversions {@code llama-quantize} applies. This is the {@code rtn} method; every other method
 * only chooses different scales and levels and packs them with {@link #packQ4_0}/{@link #packQ8_0}.
 */
public final class RefQuantizer {
    public static final int QK = Codecs.QK;

    private RefQuantizer() {}

    /**
     * quantize_row_q4_0_ref: per block of 32, the element of largest magnitude (its sign kept) maps
     * to level -8: {@code d = max / -8}, {@code id = 1/d}, {@code q = min(15, (int8)(x*id + 8.5))}.
     * The float arithmetic is the C code's, step by step (no fused multiply-add).
     */
    public static void q4_0(float[] x, int xOff, int n, byte[] out, int outOff) {
        checkBlocks(n);
        for (int b = 0; b < n / QK; b++) {
            int base = xOff + b * QK;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < QK; j++) {
                float v = x[base + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0f ? 1.0f / d : 0.0f;
            int o = outOff + b * Codecs.Q4_0_BYTES;
            putF16(out, o, Codecs.f32ToF16(d));
            for (int j = 0; j < QK / 2; j++) {
                float x0 = x[base + j] * id;
                float x1 = x[base + QK / 2 + j] * id;
                // C: (int8_t)(x0 + 8.5f) truncates toward zero; the values lie in [0.5, 16.5]
                int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f));
                int xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
                out[o + 2 + j] = (byte) (xi0 | (xi1 << 4));
            }
        }
    }

    /**
     * quantize_row_q8_0_ref: {@code d = amax / 127}, {@code q = roundf(x / d)} (half away from zero,
     * unlike the activation quantizer's round-half-even).
     */
    public static void q8_0(float[] x, int xOff, int n, byte[] out, int outOff) {
        checkBlocks(n);
        for (int b = 0; b < n / QK; b++) {
            int base = xOff + b * QK;
            float amax = 0f;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float d = amax / ((1 << 7) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            int o = outOff + b * Codecs.Q8_0_BYTES;
            putF16(out, o, Codecs.f32ToF16(d));
            for (int j = 0; j < QK; j++) {
                out[o + 2 + j] = (byte) roundf(x[base + j] * id);
            }
        }
    }

    /** C's {@code roundf}: to the nearest integer, halves away from zero. */
    public static int roundf(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) Math.copySign(a, v);
    }

    /** One row in {@code type} (F32, F16, BF16, Q8_0, Q4_0) the way llama-quantize writes it. */
    public static void row(GgmlType type, float[] x, int xOff, int n, byte[] out, int outOff) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    putInt(out, outOff + 4 * i, Float.floatToRawIntBits(x[xOff + i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    putF16(out, outOff + 2 * i, Codecs.f32ToF16(x[xOff + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    putF16(out, outOff + 2 * i, Codecs.f32ToBf16(x[xOff + i]));
                }
            }
            case Q8_0 -> q8_0(x, xOff, n, out, outOff);
            case Q4_0 -> q4_0(x, xOff, n, out, outOff);
            default -> throw new IllegalArgumentException("no encoder for " + type);
        }
    }

    /**
     * Packs one Q4_0 block: scale {@code d} (a value float16 represents exactly) and 32 levels in
     * -8..7 (element j in the low nibble of byte j, element j+16 in the high nibble).
     */
    public static void packQ4_0(float d, int[] levels, int lOff, byte[] out, int o) {
        putF16(out, o, Codecs.f32ToF16(d));
        for (int j = 0; j < QK / 2; j++) {
            int lo = levels[lOff + j] + 8;
            int hi = levels[lOff + j + QK / 2] + 8;
            if ((lo | hi) >>> 4 != 0) {
                throw new IllegalArgumentException("Q4_0 level out of -8..7: " + levels[lOff + j] + ", " + levels[lOff + j + QK / 2]);
            }
            out[o + 2 + j] = (byte) (lo | (hi << 4));
        }
    }

    /** Packs one Q8_0 block: scale {@code d} and 32 levels in -128..127. */
    public static void packQ8_0(float d, int[] levels, int lOff, byte[] out, int o) {
        putF16(out, o, Codecs.f32ToF16(d));
        for (int j = 0; j < QK; j++) {
            int q = levels[lOff + j];
            if (q < -128 || q > 127) {
                throw new IllegalArgumentException("Q8_0 level out of -128..127: " + q);
            }
            out[o + 2 + j] = (byte) q;
        }
    }

    static void putF16(byte[] out, int o, short h) {
        out[o] = (byte) h;
        out[o + 1] = (byte) (h >>> 8);
    }

    private static void putInt(byte[] out, int o, int v) {
        out[o] = (byte) v;
        out[o + 1] = (byte) (v >>> 8);
        out[o + 2] = (byte) (v >>> 16);
        out[o + 3] = (byte) (v >>> 24);
    }

    private static void checkBlocks(int n) {
        if (n % QK != 0) {
            throw new IllegalArgumentException(n + " values is not a whole number of blocks of " + QK);
        }
    }
}
