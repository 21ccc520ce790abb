package dev.edgellm.core.gguf;

/**
 * ggml tensor element types: the one source of truth for block layouts (mirrors ggml-common.h).
 *
 * <p>Every type stores a row as a sequence of blocks of {@link #blockSize()} elements taking
 * {@link #bytesPerBlock()} bytes. Types EdgeLLM can compute with are {@link #supported()}; the
 * others are known so a file that uses them is described precisely and refused by name.
 */
public enum GgmlType {
    /** IEEE float32, 1 element per "block". */
    F32(0, 1, 4, true),
    /** IEEE float16. */
    F16(1, 1, 2, true),
    /** 32 elements: fp16 scale d + 16 bytes; byte j holds element j (low nibble) and j+16 (high); value (q-8)*d. */
    Q4_0(2, 32, 2 + 16, true),
    /** 32 elements: fp16 d, fp16 m, 16 bytes of nibbles as in Q4_0; value q*d + m. */
    Q4_1(3, 32, 2 + 2 + 16, true),
    /** 32 elements: fp16 d, 4 bytes qh (bit j = 5th bit of element j), nibbles as in Q4_0; value (q-16)*d. */
    Q5_0(6, 32, 2 + 4 + 16, true),
    /** 32 elements: fp16 d, fp16 m, 4 bytes qh, nibbles as in Q4_0; value q*d + m. */
    Q5_1(7, 32, 2 + 2 + 4 + 16, true),
    /** 32 elements: fp16 scale d + 32 signed bytes; value q*d. */
    Q8_0(8, 32, 2 + 32, true),
    /**
     * Activations only: fp16 d and fp16 s (d * sum of quants), 32 signed bytes (block_q8_1; the old
     * float d/s layout took 40). What Q4_1/Q5_1 weights meet.
     */
    Q8_1(9, 32, 2 + 2 + 32, false),
    Q2_K(10, 256, 256 / 16 + 256 / 4 + 2 + 2, false),
    Q3_K(11, 256, 256 / 8 + 256 / 4 + 12 + 2, false),
    /**
     * 256 elements in 8 sub-blocks of 32: fp16 d, fp16 dmin, 12 bytes of 6-bit sub-block scales and
     * mins (see {@code Codecs.scaleMinK4}), 128 bytes of nibbles (bytes 32k..32k+31 hold sub-block
     * 2k in the low and 2k+1 in the high nibbles); value d*sc*q - dmin*m.
     */
    Q4_K(12, 256, 2 + 2 + 12 + 256 / 2, true),
    /** Q4_K with a fifth bit: fp16 d, fp16 dmin, 12 bytes of scales/mins, 32 bytes qh, 128 bytes of nibbles. */
    Q5_K(13, 256, 2 + 2 + 12 + 256 / 8 + 256 / 2, true),
    /**
     * 256 elements in 16 sub-blocks of 16: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16
     * signed 8-bit sub-block scales, fp16 d; value d*sc*(q-32).
     */
    Q6_K(14, 256, 256 / 2 + 256 / 4 + 256 / 16 + 2, true),
    /** Activations only: float32 d, 256 signed bytes, 16 int16 sums of 16 quants each. What K-quant weights meet. */
    Q8_K(15, 256, 4 + 256 + 256 / 16 * 2, false),
    IQ2_XXS(16, 256, 2 + 256 / 8 * 2, false),
    IQ2_XS(17, 256, 2 + 256 / 8 * 2 + 256 / 32, false),
    IQ3_XXS(18, 256, 2 + 256 / 4 + 256 / 8, false),
    IQ1_S(19, 256, 2 + 256 / 8 + 256 / 16, false),
    IQ4_NL(20, 32, 2 + 16, false),
    IQ3_S(21, 256, 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4, false),
    IQ2_S(22, 256, 2 + 256 / 4 + 256 / 16, false),
    IQ4_XS(23, 256, 2 + 2 + 256 / 64 + 256 / 2, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    IQ1_M(29, 256, 256 / 8 + 256 / 16 + 256 / 32, false),
    /** bfloat16: the upper 16 bits of a float32. */
    BF16(30, 1, 2, true),
    TQ1_0(34, 256, 2 + 4 * 13, false),
    TQ2_0(35, 256, 2 + 64, false),
    MXFP4(39, 32, 1 + 16, false);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int bytesPerBlock;
    private final boolean supported;

    GgmlType(int id, int blockSize, int bytesPerBlock, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
        this.supported = supported;
    }

    /** The numeric id stored in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block (1 for plain float types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes one block occupies. */
    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    /** Whether EdgeLLM's backends compute with this type. */
    public boolean supported() {
        return supported;
    }

    /** Bits one weight takes on average, block scales included (4.5 for Q4_0 and Q4_K, 6.5625 for Q6_K). */
    public double bitsPerWeight() {
        return bytesPerBlock * 8.0 / blockSize;
    }

    /**
     * Byte offsets, within a block, of the fp16 block scales (d, and the min or dmin where there is
     * one) of the weight types EdgeLLM computes with; empty for float types and the types it does
     * not compute with. A scale that is infinite or NaN makes every weight of its block meaningless
     * (no quantizer writes one), so the loader refuses such tensors.
     */
    public int[] halfScaleOffsets() {
        return switch (this) {
            case Q4_0, Q5_0, Q8_0 -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {bytesPerBlock - 2};
            default -> new int[0];
        };
    }

    /** Whether this is a block-quantized type (block size above 1). */
    public boolean quantized() {
        return blockSize > 1;
    }

    /**
     * Bytes taken by {@code elements} elements.
     *
     * @throws IllegalArgumentException when {@code elements} is not a whole number of blocks
     */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements is not a whole number of " + this + " blocks of " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) bytesPerBlock);
    }

    /** The type with this GGUF id, or null when the id is unknown. */
    public static GgmlType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }
}
