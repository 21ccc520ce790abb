package dev.edgellm.core.gguf;

/** Metadata value types of the GGUF format (gguf.h {@code gguf_type}). */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4),
    BOOL(7, 1), STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private static final GgufValueType[] BY_ID = values();

    private final int id;
    /** The fewest bytes one value of this type can occupy in the file (bounds array counts). */
    private final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    public int id() {
        return id;
    }

    int minBytes() {
        return minBytes;
    }

    /** The type with this id, or null. */
    public static GgufValueType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /** The lower-case name GGUF tools print ({@code u32}, {@code str}, ...). */
    public String shortName() {
        return switch (this) {
            case UINT8 -> "u8";
            case INT8 -> "i8";
            case UINT16 -> "u16";
            case INT16 -> "i16";
            case UINT32 -> "u32";
            case INT32 -> "i32";
            case FLOAT32 -> "f32";
            case BOOL -> "bool";
            case STRING -> "str";
            case ARRAY -> "arr";
            case UINT64 -> "u64";
            case INT64 -> "i64";
            case FLOAT64 -> "f64";
        };
    }
}
