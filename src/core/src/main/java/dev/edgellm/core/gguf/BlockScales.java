package dev.edgellm.core.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The one content check a quantized tensor allows: every fp16 block scale ({@code d}, and the min
 * or {@code dmin} where the type has one; offsets from {@link GgmlType#halfScaleOffsets()}) must be
 * finite. An infinite or NaN scale turns its whole block (32 or 256 weights) into NaN or infinity,
 * and no quantizer writes one, so it marks a corrupted file. Everything else in a block is
 * meaningful for any bit pattern (all 6-bit scale/min codes and all quants are valid values), so
 * nothing else is detectable from the bytes.
 */
public final class BlockScales {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private BlockScales() {}

    /**
     * Reads the scales of every block of {@code tensor} (a few bytes per block).
     *
     * @param source names the file in the message
     * @throws GgufFormatException naming the tensor, the block, the field and its file offset at
     *                             the first non-finite scale
     */
    public static void requireFinite(String source, GgufTensor tensor) {
        GgmlType type = tensor.type();
        int[] offsets = type.halfScaleOffsets();
        if (offsets.length == 0) {
            return;
        }
        MemorySegment data = tensor.data();
        long blocks = data.byteSize() / type.bytesPerBlock();
        int bytes = type.bytesPerBlock();
        for (long b = 0; b < blocks; b++) {
            long base = b * bytes;
            for (int i = 0; i < offsets.length; i++) {
                short h = data.get(LE_SHORT, base + offsets[i]);
                if ((h & 0x7C00) == 0x7C00) {
                    String field = offsets.length == 1 ? "scale d" : i == 0 ? "scale d" : type.name().endsWith("_K") ? "min scale dmin" : "min m";
                    throw new GgufFormatException(String.format("%s: tensor '%s' (%s) block %d has a non-finite %s (fp16 0x%04x = %s) at file offset %d: "
                                    + "the block's weights would be NaN or infinite; the file is corrupted",
                            source, tensor.name(), type, b, field, h & 0xFFFF, Float.float16ToFloat(h), tensor.offset() + base + offsets[i]));
                }
            }
        }
    }
}
