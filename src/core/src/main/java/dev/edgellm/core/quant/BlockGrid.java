package dev.edgellm.core.quant;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.tensor.Codecs;

/**
 * The levels a block-quantized weight type stores: a float16 scale {@code d} per block of 32 and
 * one integer level per weight, value {@code d * level}. The methods that choose their own scales
 * (clipping search, GPTQ) work on this; the layout itself stays {@link GgmlType}'s.
 */
public enum BlockGrid {
    /** Levels -8..7 (nibble minus 8). */
    Q4_0(GgmlType.Q4_0, -8, 7),
    /**
     * Levels -127..127: ggml's reference never writes -128, and x86 kernels that take absolute
     * values with {@code sign} instructions would overflow on it.
     */
    Q8_0(GgmlType.Q8_0, -127, 127);

    public static final int QK = Codecs.QK;

    private final GgmlType type;
    private final int min;
    private final int max;

    BlockGrid(GgmlType type, int min, int max) {
        this.type = type;
        this.min = min;
        this.max = max;
    }

    public GgmlType type() {
        return type;
    }

    public int min() {
        return min;
    }

    public int max() {
        return max;
    }

    /** The grid of a block type, or null for float types. */
    public static BlockGrid of(GgmlType t) {
        return switch (t) {
            case Q4_0 -> Q4_0;
            case Q8_0 -> Q8_0;
            default -> null;
        };
    }

    /** The level nearest to {@code v} (half to even), clamped to the grid. */
    public int level(float v) {
        float r = (float) Math.rint(v);
        return r < min ? min : r > max ? max : (int) r;
    }

    /** Packs block {@code b} of a row: scale and 32 levels starting at {@code levels[lOff]}. */
    public void pack(float d, int[] levels, int lOff, byte[] out, int o) {
        switch (this) {
            case Q4_0 -> RefQuantizer.packQ4_0(d, levels, lOff, out, o);
            case Q8_0 -> RefQuantizer.packQ8_0(d, levels, lOff, out, o);
        }
    }

    /** Bytes of one block. */
    public int blockBytes() {
        return type.bytesPerBlock();
    }

    /** ggml's reference encoding of a row (the {@code rtn} method). */
    public void reference(float[] x, int xOff, int n, byte[] out, int outOff) {
        RefQuantizer.row(type, x, xOff, n, out, outOff);
    }

    /** The scale and levels of ggml's reference encoding of one block (to score it). */
    public float referenceBlock(float[] x, int off, int[] levels, int lOff) {
        byte[] b = new byte[type.bytesPerBlock()];
        RefQuantizer.row(type, x, off, QK, b, 0);
        float d = Codecs.f16ToF32((short) ((b[0] & 0xFF) | (b[1] << 8)));
        for (int j = 0; j < QK; j++) {
            levels[lOff + j] = switch (this) {
                case Q4_0 -> ((j < 16 ? b[2 + j] : b[2 + j - 16] >> 4) & 0x0F) - 8;
                case Q8_0 -> b[2 + j];
            };
        }
        return d;
    }
}
