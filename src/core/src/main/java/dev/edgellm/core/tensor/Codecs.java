package dev.edgellm.core.tensor;

import dev.edgellm.core.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar encoders and decoders for the ggml block formats of {@link GgmlType}: the reference
 * definitions every backend is checked against (ggml-quants.c {@code dequantize_row_*} and
 * {@code quantize_row_q8_0_ref}). The K-quant super-blocks are in {@link KQuants}, the Q4_1/Q5_0/
 * Q5_1/Q8_1 blocks in {@link LegacyQuants}; this class dispatches on the type.
 */
public final class Codecs {
    public static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Bytes of a Q4_0 block: fp16 d, then 16 bytes of nibbles. */
    public static final int Q4_0_BYTES = GgmlType.Q4_0.bytesPerBlock();
    /** Bytes of a Q8_0 block: fp16 d, then 32 signed bytes. */
    public static final int Q8_0_BYTES = GgmlType.Q8_0.bytesPerBlock();
    public static final int QK = 32;

    private Codecs() {}

    public static float f16ToF32(short h) {
        return Float.float16ToFloat(h);
    }

    public static short f32ToF16(float f) {
        return Float.floatToFloat16(f);
    }

    public static float bf16ToF32(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    /** float32 to bfloat16 with round-to-nearest-even; NaN stays a quiet NaN (ggml_compute_fp32_to_bf16). */
    public static short f32ToBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** The float value of element {@code i} of a row of {@code type} starting at byte {@code base}. */
    public static float element(GgmlType type, MemorySegment s, long base, int i) {
        return switch (type) {
            case F32 -> s.get(LE_FLOAT, base + 4L * i);
            case F16 -> f16ToF32(s.get(LE_SHORT, base + 2L * i));
            case BF16 -> bf16ToF32(s.get(LE_SHORT, base + 2L * i));
            case Q8_0 -> {
                long b = base + (long) (i / QK) * Q8_0_BYTES;
                yield f16ToF32(s.get(LE_SHORT, b)) * s.get(ValueLayout.JAVA_BYTE, b + 2 + i % QK);
            }
            case Q4_0 -> {
                long b = base + (long) (i / QK) * Q4_0_BYTES;
                int j = i % QK;
                int packed = s.get(ValueLayout.JAVA_BYTE, b + 2 + (j & 15)) & 0xFF;
                int q = j < 16 ? packed & 0x0F : packed >>> 4;
                yield f16ToF32(s.get(LE_SHORT, b)) * (q - 8);
            }
            case Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K -> {
                // decode the element's block (these types are read element-wise only for small tensors)
                float[] block = new float[type.blockSize()];
                dequantizeRow(type, s, base + (long) (i / type.blockSize()) * type.bytesPerBlock(), block, 0, type.blockSize());
                yield block[i % type.blockSize()];
            }
            default -> throw new UnsupportedOperationException("no decoder for " + type);
        };
    }

    /** Decodes {@code n} elements of a row of {@code type} at byte {@code base} into {@code out[off..]}. */
    public static void dequantizeRow(GgmlType type, MemorySegment s, long base, float[] out, int off, int n) {
        switch (type) {
            case F32 -> MemorySegment.copy(s, LE_FLOAT, base, out, off, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[off + i] = f16ToF32(s.get(LE_SHORT, base + 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[off + i] = bf16ToF32(s.get(LE_SHORT, base + 2L * i));
                }
            }
            case Q8_0 -> {
                for (int blk = 0; blk < n / QK; blk++) {
                    long b = base + (long) blk * Q8_0_BYTES;
                    float d = f16ToF32(s.get(LE_SHORT, b));
                    for (int j = 0; j < QK; j++) {
                        out[off + blk * QK + j] = d * s.get(ValueLayout.JAVA_BYTE, b + 2 + j);
                    }
                }
            }
            case Q4_0 -> {
                for (int blk = 0; blk < n / QK; blk++) {
                    long b = base + (long) blk * Q4_0_BYTES;
                    float d = f16ToF32(s.get(LE_SHORT, b));
                    for (int j = 0; j < 16; j++) {
                        int packed = s.get(ValueLayout.JAVA_BYTE, b + 2 + j) & 0xFF;
                        out[off + blk * QK + j] = d * ((packed & 0x0F) - 8);
                        out[off + blk * QK + j + 16] = d * ((packed >>> 4) - 8);
                    }
                }
            }
            case Q4_1 -> LegacyQuants.dequantizeQ4_1(s, base, out, off, n / QK);
            case Q5_0 -> LegacyQuants.dequantizeQ5_0(s, base, out, off, n / QK);
            case Q5_1 -> LegacyQuants.dequantizeQ5_1(s, base, out, off, n / QK);
            case Q4_K -> KQuants.dequantizeQ4_K(s, base, out, off, n / KQuants.QK_K);
            case Q5_K -> KQuants.dequantizeQ5_K(s, base, out, off, n / KQuants.QK_K);
            case Q6_K -> KQuants.dequantizeQ6_K(s, base, out, off, n / KQuants.QK_K);
            default -> throw new UnsupportedOperationException("no decoder for " + type);
        }
    }

    /**
     * Quantizes {@code n} floats (a multiple of 32) to Q8_0 the way llama.cpp quantizes activations
     * (quantize_row_q8_0_ref): per block {@code d = amax/127}, {@code q = rint(x/d)}. Scales go to
     * {@code scales[n/32]} as the float value of the stored fp16, quants to {@code quants[n]}.
     */
    public static void quantizeQ8_0(float[] x, int xOff, int n, float[] scales, int sOff, byte[] quants, int qOff) {
        for (int blk = 0; blk < n / QK; blk++) {
            int base = xOff + blk * QK;
            float amax = 0f;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            scales[sOff + blk] = f16ToF32(f32ToF16(d));
            for (int j = 0; j < QK; j++) {
                // Round half to even, as the x86 SIMD quantizer llama.cpp runs (_MM_ROUND_NEAREST).
                quants[qOff + blk * QK + j] = (byte) (int) Math.rint(x[base + j] * id);
            }
        }
    }
}
