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
    Q4_1(3, 32, 2 + 2 + 16, false),
    Q5_0(6, 32, 2 + 4 + 16, false),
    Q5_1(7, 32, 2 + 2 + 4 + 16, false),
    /** 32 elements: fp16 scale d + 32 signed bytes; value q*d. */
    Q8_0(8, 32, 2 + 32, true),
    /** fp16 d and fp16 s (d * sum of quants), 32 signed bytes (block_q8_1; the old float d/s layout took 40). */
    Q8_1(9, 32, 2 + 2 + 32, false),
    Q2_K(10, 256, 256 / 16 + 256 / 4 + 2 + 2, false),
    Q3_K(11, 256, 256 / 8 + 256 / 4 + 12 + 2, false),
    Q4_K(12, 256, 2 + 2 + 12 + 256 / 2, false),
    Q5_K(13, 256, 2 + 2 + 12 + 256 / 8 + 256 / 2, false),
    Q6_K(14, 256, 256 / 2 + 256 / 4 + 256 / 16 + 2, false),
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
