package dev.edgellm.core.tensor;

import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.QK;

import dev.edgellm.core.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The 32-weight block formats that quantizers fall back to where a row is not a multiple of 256
 * (ggml-common.h {@code block_q4_1}, {@code block_q5_0}, {@code block_q5_1}, {@code block_q8_1}):
 * byte offsets, the fifth-bit unpacking, decoding ({@code dequantize_row_q*}) and the Q8_1
 * activation quantizer.
 */
public final class LegacyQuants {
    /** Q4_1: fp16 d at 0, fp16 m at 2, 16 bytes of nibbles at 4. */
    public static final int Q4_1_BYTES = GgmlType.Q4_1.bytesPerBlock();
    public static final int Q4_1_QS = 4;
    /** Q5_0: fp16 d at 0, 4 bytes qh at 2 (little-endian u32, bit j = fifth bit of element j), nibbles at 6. */
    public static final int Q5_0_BYTES = GgmlType.Q5_0.bytesPerBlock();
    public static final int Q5_0_QH = 2;
    public static final int Q5_0_QS = 6;
    /** Q5_1: fp16 d at 0, fp16 m at 2, qh at 4, nibbles at 8. */
    public static final int Q5_1_BYTES = GgmlType.Q5_1.bytesPerBlock();
    public static final int Q5_1_QH = 4;
    public static final int Q5_1_QS = 8;

    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private LegacyQuants() {}

    /** The 32 fifth bits of a Q5_0/Q5_1 block, bit {@code j} for element {@code j}. */
    public static int fifthBits(MemorySegment s, long at) {
        return s.get(LE_INT, at);
    }

    /** The 4-bit quant of element {@code j} (0..31) of nibbles at {@code qs}: byte j%16, low nibble for j < 16. */
    public static int nibble(MemorySegment s, long qs, int j) {
        int packed = s.get(ValueLayout.JAVA_BYTE, qs + (j & 15)) & 0xFF;
        return j < 16 ? packed & 0xF : packed >>> 4;
    }

    public static void dequantizeQ4_1(MemorySegment s, long base, float[] out, int off, int blocks) {
        for (int i = 0; i < blocks; i++) {
            long b = base + (long) i * Q4_1_BYTES;
            float d = Codecs.f16ToF32(s.get(LE_SHORT, b));
            float m = Codecs.f16ToF32(s.get(LE_SHORT, b + 2));
            for (int j = 0; j < QK; j++) {
                out[off + i * QK + j] = nibble(s, b + Q4_1_QS, j) * d + m;
            }
        }
    }

    public static void dequantizeQ5_0(MemorySegment s, long base, float[] out, int off, int blocks) {
        for (int i = 0; i < blocks; i++) {
            long b = base + (long) i * Q5_0_BYTES;
            float d = Codecs.f16ToF32(s.get(LE_SHORT, b));
            int qh = fifthBits(s, b + Q5_0_QH);
            for (int j = 0; j < QK; j++) {
                int q = nibble(s, b + Q5_0_QS, j) | (((qh >>> j) & 1) << 4);
                out[off + i * QK + j] = (q - 16) * d;
            }
        }
    }

    public static void dequantizeQ5_1(MemorySegment s, long base, float[] out, int off, int blocks) {
        for (int i = 0; i < blocks; i++) {
            long b = base + (long) i * Q5_1_BYTES;
            float d = Codecs.f16ToF32(s.get(LE_SHORT, b));
            float m = Codecs.f16ToF32(s.get(LE_SHORT, b + 2));
            int qh = fifthBits(s, b + Q5_1_QH);
            for (int j = 0; j < QK; j++) {
                int q = nibble(s, b + Q5_1_QS, j) | (((qh >>> j) & 1) << 4);
                out[off + i * QK + j] = q * d + m;
            }
        }
    }

    /**
     * Quantizes {@code n} floats (a multiple of 32) to Q8_1 as llama.cpp's x86 build quantizes the
     * activations of Q4_1/Q5_1 products ({@code quantize_row_q8_1}): per block {@code d = amax/127},
     * {@code q = rint(x * 127/amax)} (ties to even), {@code s = d * sum(q)}; d and s are stored as
     * fp16 and handed out here as the floats of those fp16 values.
     */
    public static void quantizeQ8_1(float[] x, int xOff, int n, float[] d, float[] sums, int sOff, byte[] q, int qOff) {
        for (int blk = 0; blk < n / QK; blk++) {
            int base = xOff + blk * QK;
            float amax = 0f;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float dd = amax / 127f;
            float id = amax != 0f ? 127f / amax : 0f;
            int sum = 0;
            for (int j = 0; j < QK; j++) {
                int v = (int) Math.rint(x[base + j] * id);
                q[qOff + blk * QK + j] = (byte) v;
                sum += v;
            }
            d[sOff + blk] = Codecs.f16ToF32(Codecs.f32ToF16(dd));
            sums[sOff + blk] = Codecs.f16ToF32(Codecs.f32ToF16(dd * sum));
        }
    }
}
