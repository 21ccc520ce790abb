package dev.edgellm.core.gguf;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A metadata array of strings kept as UTF-8: every element's bytes in one array, plus where each
 * ends. A vocabulary of 262,144 tokens takes ~3.5 MB this way instead of ~16 MB as {@code String}
 * objects; elements become {@code String}s only when read with {@link #get}. The bytes were
 * checked to be valid UTF-8 when the file was read. Immutable.
 */
public final class GgufStrings {
    private final byte[] utf8;
    /** {@code ends[i]}: the end of element {@code i} in {@link #utf8}; it starts where {@code i - 1} ends. */
    private final int[] ends;

    GgufStrings(byte[] utf8, int[] ends) {
        this.utf8 = utf8;
        this.ends = ends;
    }

    /** The given strings (tests, and writers that build metadata in memory). */
    public static GgufStrings of(String... strings) {
        byte[][] parts = new byte[strings.length][];
        long total = 0;
        for (int i = 0; i < strings.length; i++) {
            parts[i] = strings[i].getBytes(StandardCharsets.UTF_8);
            total += parts[i].length;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("strings hold more than 2 GiB of UTF-8");
        }
        byte[] utf8 = new byte[(int) total];
        int[] ends = new int[strings.length];
        int end = 0;
        for (int i = 0; i < parts.length; i++) {
            System.arraycopy(parts[i], 0, utf8, end, parts[i].length);
            end += parts[i].length;
            ends[i] = end;
        }
        return new GgufStrings(utf8, ends);
    }

    public int length() {
        return ends.length;
    }

    /** Element {@code i}, decoded (a new {@code String}). */
    public String get(int i) {
        return new String(utf8, start(i), byteLength(i), StandardCharsets.UTF_8);
    }

    /** Length of element {@code i} in UTF-8 bytes. */
    public int byteLength(int i) {
        return ends[i] - start(i);
    }

    /** Element {@code i}'s UTF-8 bytes (a copy). */
    public byte[] bytes(int i) {
        return Arrays.copyOfRange(utf8, start(i), ends[i]);
    }

    /** Whether element {@code i} is exactly the UTF-8 bytes {@code b[from..to)}. */
    public boolean contentEquals(int i, byte[] b, int from, int to) {
        return Arrays.equals(utf8, start(i), ends[i], b, from, to);
    }

    /** Whether elements {@code i} and {@code j} are the same text. */
    public boolean contentEquals(int i, int j) {
        return Arrays.equals(utf8, start(i), ends[i], utf8, start(j), ends[j]);
    }

    /** {@link #hash(byte[], int, int)} of element {@code i}. */
    public int hash(int i) {
        return hash(utf8, start(i), ends[i]);
    }

    /** A hash of UTF-8 bytes {@code b[from..to)} (the same for equal byte sequences wherever they are). */
    public static int hash(byte[] b, int from, int to) {
        int h = 0;
        for (int k = from; k < to; k++) {
            h = 31 * h + b[k];
        }
        return h;
    }

    /** Length of element {@code i} in UTF-16 chars ({@code get(i).length()}, without decoding). */
    public int charLength(int i) {
        int n = 0;
        for (int k = start(i), end = ends[i]; k < end; k++) {
            int b = utf8[k] & 0xFF;
            if ((b & 0xC0) != 0x80) {
                n += b >= 0xF0 ? 2 : 1; // a 4-byte sequence is a surrogate pair
            }
        }
        return n;
    }

    /** All elements as {@code String}s (a new array). */
    public String[] toArray() {
        String[] s = new String[ends.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = get(i);
        }
        return s;
    }

    private int start(int i) {
        return i == 0 ? 0 : ends[i - 1];
    }

    /** Bytes of all elements. */
    private int size() {
        return ends.length == 0 ? 0 : ends[ends.length - 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufStrings s && Arrays.equals(ends, s.ends) && Arrays.equals(utf8, 0, size(), s.utf8, 0, s.size());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ends);
    }

    @Override
    public String toString() {
        return "GgufStrings[" + length() + " strings, " + size() + " bytes]";
    }
}
