package dev.edgellm.core.gguf;

import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;

/**
 * The key/value metadata of a GGUF file with typed accessors. A key that is present but of the
 * wrong type is a {@link GgufFormatException} naming the key, its type and its offset.
 */
public final class GgufMetadata {

    /** One key/value pair; {@code value} is a Long (any integer type), Float, Double, Boolean, String or {@link GgufArray}. */
    public record Entry(String key, GgufValueType type, Object value, long offset) {}

    private final String source;
    private final Map<String, Entry> entries;

    GgufMetadata(String source, Map<String, Entry> entries) {
        this.source = source;
        this.entries = Collections.unmodifiableMap(entries);
    }

    public Collection<Entry> entries() {
        return entries.values();
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    public Optional<Entry> entry(String key) {
        return Optional.ofNullable(entries.get(key));
    }

    private Entry required(String key) {
        Entry e = entries.get(key);
        if (e == null) {
            throw new GgufFormatException(source + ": required metadata key '" + key + "' is missing");
        }
        return e;
    }

    private GgufFormatException wrongType(Entry e, String expected) {
        return new GgufFormatException(source + ": metadata key '" + e.key() + "' at offset " + e.offset() + " is " + e.type().shortName() + ", expected " + expected);
    }

    public String getString(String key) {
        Entry e = required(key);
        if (e.value() instanceof String s) {
            return s;
        }
        throw wrongType(e, "a string");
    }

    public Optional<String> findString(String key) {
        return entries.containsKey(key) ? Optional.of(getString(key)) : Optional.empty();
    }

    /** An integer of any width whose value fits an int (u32/u64 values above Integer.MAX_VALUE do not). */
    public int getInt(String key) {
        Entry e = required(key);
        if (e.value() instanceof Long l) {
            boolean unsigned64 = e.type() == GgufValueType.UINT64;
            if ((unsigned64 && l < 0) || l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
                throw new GgufFormatException(source + ": metadata key '" + key + "' at offset " + e.offset() + " has out-of-range value " + (unsigned64 ? Long.toUnsignedString(l) : l));
            }
            return (int) (long) l;
        }
        throw wrongType(e, "an integer");
    }

    public int getInt(String key, int defaultValue) {
        return entries.containsKey(key) ? getInt(key) : defaultValue;
    }

    /** An integer that fits an int and is above zero. */
    public int getPositiveInt(String key) {
        int v = getInt(key);
        if (v <= 0) {
            throw new GgufFormatException(source + ": metadata key '" + key + "' at offset " + required(key).offset() + " must be positive, got " + v);
        }
        return v;
    }

    public float getFloat(String key) {
        Entry e = required(key);
        return switch (e.value()) {
            case Float f -> f;
            case Double d -> d.floatValue();
            case Long l -> e.type() == GgufValueType.UINT64 && l < 0 ? GgufArray.unsignedToFloat(l) : l.floatValue();
            default -> throw wrongType(e, "a number");
        };
    }

    public float getFloat(String key, float defaultValue) {
        return entries.containsKey(key) ? getFloat(key) : defaultValue;
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        Entry e = entries.get(key);
        if (e == null) {
            return defaultValue;
        }
        if (e.value() instanceof Boolean b) {
            return b;
        }
        throw wrongType(e, "a bool");
    }

    public GgufArray getArray(String key) {
        Entry e = required(key);
        if (e.value() instanceof GgufArray a) {
            return a;
        }
        throw wrongType(e, "an array");
    }

    public Optional<GgufArray> findArray(String key) {
        return entries.containsKey(key) ? Optional.of(getArray(key)) : Optional.empty();
    }

    /** An array of strings, as UTF-8 (see {@link GgufStrings}). */
    public GgufStrings getStrings(String key) {
        GgufArray a = getArray(key);
        if (a.elementType() != GgufValueType.STRING) {
            throw new GgufFormatException(source + ": metadata key '" + key + "' at offset " + required(key).offset() + " is an array of " + a.elementType().shortName() + ", expected an array of strings");
        }
        return (GgufStrings) a.data();
    }

    /** An array of strings, decoded into a new {@code String[]}. */
    public String[] getStringArray(String key) {
        return getStrings(key).toArray();
    }

    /** {@code general.alignment}, validated: a power of two (default 32). */
    public int alignment() {
        Entry e = entries.get("general.alignment");
        if (e == null) {
            return GgufFile.DEFAULT_ALIGNMENT;
        }
        int a = getInt("general.alignment");
        if (a <= 0 || Integer.bitCount(a) != 1 || a > (1 << 20)) {
            throw new GgufFormatException(source + ": metadata key 'general.alignment' at offset " + e.offset() + " is " + a + ", expected a power of two from 1 to " + (1 << 20));
        }
        return a;
    }

    /** The model architecture ({@code general.architecture}). */
    public String architecture() {
        return getString("general.architecture");
    }

    public String source() {
        return source;
    }

    /** A printable rendering of a value (arrays abbreviated). */
    public static String render(Object value) {
        return switch (value) {
            case GgufArray a -> a.preview(8);
            case String s -> '"' + (s.length() > 120 ? s.substring(0, 120) + "..." : s) + '"';
            default -> String.valueOf(value);
        };
    }
}
