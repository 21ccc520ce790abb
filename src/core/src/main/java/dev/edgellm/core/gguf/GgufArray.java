package dev.edgellm.core.gguf;

import java.util.Arrays;

/**
 * A metadata array. {@code data} is a primitive array for numeric element types ({@code byte[]}
 * for u8/i8/bool, {@code short[]} for 16-bit, {@code int[]} for 32-bit ints, {@code float[]},
 * {@code long[]}, {@code double[]}), {@link GgufStrings} for strings and {@code GgufArray[]} for
 * nested arrays. Unsigned values keep their bit pattern; use the accessors to read them.
 */
public record GgufArray(GgufValueType elementType, int length, Object data) {

    /** Element {@code i} as a long (integer and bool element types; unsigned types zero-extended). */
    public long getLong(int i) {
        return switch (elementType) {
            case UINT8, BOOL -> ((byte[]) data)[i] & 0xFFL;
            case INT8 -> ((byte[]) data)[i];
            case UINT16 -> ((short[]) data)[i] & 0xFFFFL;
            case INT16 -> ((short[]) data)[i];
            case UINT32 -> ((int[]) data)[i] & 0xFFFF_FFFFL;
            case INT32 -> ((int[]) data)[i];
            case UINT64, INT64 -> ((long[]) data)[i];
            default -> throw new IllegalStateException("array of " + elementType.shortName() + " has no integer elements");
        };
    }

    /** Element {@code i} as a double: float32/float64 arrays, or integer ones (u64 above 2^63 stays positive). */
    public double getDouble(int i) {
        return switch (elementType) {
            case FLOAT32 -> ((float[]) data)[i];
            case FLOAT64 -> ((double[]) data)[i];
            case UINT64 -> unsignedToDouble(getLong(i));
            default -> getLong(i);
        };
    }

    /** The value of a u64 bit pattern as a double, correctly rounded. */
    static double unsignedToDouble(long v) {
        // Halve with the low bit kept sticky so the single rounding of the conversion stays correct.
        return v >= 0 ? v : ((v >>> 1) | (v & 1)) * 2.0;
    }

    /** The value of a u64 bit pattern as a float, correctly rounded. */
    static float unsignedToFloat(long v) {
        return v >= 0 ? v : ((v >>> 1) | (v & 1)) * 2.0f;
    }

    /** Element {@code i} of a string array. */
    public String getString(int i) {
        return ((GgufStrings) data).get(i);
    }

    /** A short human-readable rendering (first few elements). */
    public String preview(int max) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < Math.min(length, max); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(switch (elementType) {
                case STRING -> '"' + getString(i) + '"';
                case FLOAT32, FLOAT64 -> Double.toString(getDouble(i));
                case ARRAY -> ((GgufArray[]) data)[i].preview(max);
                default -> Long.toString(getLong(i));
            });
        }
        if (length > max) {
            sb.append(", ... (").append(length).append(" total)");
        }
        return sb.append(']').toString();
    }

    @Override
    public String toString() {
        return "GgufArray[" + elementType.shortName() + " x " + length + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && a.elementType == elementType && a.length == length
                && Arrays.deepEquals(new Object[] {data}, new Object[] {a.data});
    }

    @Override
    public int hashCode() {
        return elementType.hashCode() * 31 + length;
    }
}
