package dev.edgellm.core.tokenizer;

/**
 * A UTF-8 decoder with one fixed policy for malformed input, shared by {@link Tokenizer#decode}
 * and {@link StreamDecoder} so that decoding a byte stream in pieces gives exactly the same text
 * as decoding it in one go.
 *
 * <p>Policy: each maximal subpart of an ill-formed sequence (Unicode 15, section 3.9, "U+FFFD
 * substitution of maximal subparts") becomes one U+FFFD. Overlong forms, surrogates and code
 * points above U+10FFFF are ill-formed. The decoder only looks ahead within one sequence, and a
 * sequence always ends before a byte that cannot continue it, so a split point at the start of a
 * sequence never changes the result.
 */
final class Utf8 {
    static final char REPLACEMENT = '\uFFFD';

    private Utf8() {}

    /**
     * Decodes {@code bytes[from, to)} into {@code out}.
     *
     * @param endOfInput when false, a trailing sequence that is incomplete but valid so far is left
     *                   undecoded; when true it becomes one U+FFFD
     * @return the index of the first byte not consumed ({@code to} unless a trailing incomplete
     *         sequence was left for later)
     */
    static int decode(byte[] bytes, int from, int to, StringBuilder out, boolean endOfInput) {
        int i = from;
        while (i < to) {
            int b0 = bytes[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need;
            int cp;
            int lo = 0x80;
            int hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
                cp = b0 & 0x1F;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                cp = b0 & 0x0F;
                if (b0 == 0xE0) {
                    lo = 0xA0; // no overlong 3-byte forms
                } else if (b0 == 0xED) {
                    hi = 0x9F; // no surrogates
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                cp = b0 & 0x07;
                if (b0 == 0xF0) {
                    lo = 0x90; // no overlong 4-byte forms
                } else if (b0 == 0xF4) {
                    hi = 0x8F; // nothing above U+10FFFF
                }
            } else {
                out.append(REPLACEMENT); // continuation byte, C0, C1, F5..FF
                i++;
                continue;
            }
            int j = i + 1;
            int got = 0;
            boolean truncated = false;
            while (got < need) {
                if (j >= to) {
                    truncated = true;
                    break;
                }
                int c = bytes[j] & 0xFF;
                if (got == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) {
                    break;
                }
                cp = (cp << 6) | (c & 0x3F);
                j++;
                got++;
            }
            if (got == need) {
                out.appendCodePoint(cp);
            } else if (truncated && !endOfInput) {
                return i;
            } else {
                out.append(REPLACEMENT);
            }
            i = j;
        }
        return to;
    }

    static String decode(byte[] bytes, int from, int to) {
        StringBuilder sb = new StringBuilder(to - from);
        decode(bytes, from, to, sb, true);
        return sb.toString();
    }
}
