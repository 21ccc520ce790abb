package dev.edgellm.core.tokenizer;

import java.util.Arrays;

/** Token ids back to bytes and text, as llama.cpp's {@code token_to_piece} and detokenizer do. */
final class PieceDecoder {
    private static final byte[] EMPTY = new byte[0];

    private final Vocabulary v;

    PieceDecoder(Vocabulary v) {
        this.v = v;
    }

    /**
     * The bytes llama.cpp's {@code token_to_piece} gives for the token: normal tokens with '▁'
     * turned back into spaces, byte tokens {@code <0xNN>} as that one byte, user-defined tokens as
     * their text, control and unknown tokens as nothing unless {@code renderSpecial} (then their
     * text), unused and undefined tokens as nothing.
     */
    byte[] pieceBytes(int id, boolean renderSpecial) {
        int attr = v.attrs[v.check(id)];
        if (!renderSpecial && (attr & (Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_CONTROL)) != 0) {
            return EMPTY;
        }
        if ((attr & (Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED)) != 0) {
            return v.texts.bytes(id);
        }
        if ((attr & Vocabulary.ATTR_NORMAL) != 0) {
            return unescapeSpaces(v.texts.bytes(id));
        }
        if ((attr & Vocabulary.ATTR_BYTE) != 0) {
            return new byte[] {byteValue(v.texts.get(id))};
        }
        return EMPTY;
    }

    /** UTF-8 of '▁' (U+2581), SentencePiece's escaped space. */
    private static final byte[] SPACE_MARK_UTF8 = {(byte) 0xE2, (byte) 0x96, (byte) 0x81};

    /** {@code utf8} with every '▁' turned into a space (the bytes of {@code replace('▁', ' ')}). */
    private static byte[] unescapeSpaces(byte[] utf8) {
        int marks = 0;
        for (int i = 0; i < utf8.length; i++) {
            if (isSpaceMark(utf8, i)) {
                marks++;
            }
        }
        if (marks == 0) {
            return utf8;
        }
        byte[] out = new byte[utf8.length - 2 * marks];
        for (int i = 0, o = 0; i < utf8.length; i++) {
            if (isSpaceMark(utf8, i)) {
                out[o++] = ' ';
                i += 2;
            } else {
                out[o++] = utf8[i];
            }
        }
        return out;
    }

    /** Whether '▁' starts at {@code utf8[i]} (0xE2 never continues a character, so matches never overlap). */
    private static boolean isSpaceMark(byte[] utf8, int i) {
        return i + 2 < utf8.length && utf8[i] == SPACE_MARK_UTF8[0] && utf8[i + 1] == SPACE_MARK_UTF8[1] && utf8[i + 2] == SPACE_MARK_UTF8[2];
    }

    /** The byte of a byte token: llama.cpp's {@code strtol(text.substr(3, 2), 16)}. */
    private static byte byteValue(String text) {
        int v = 0;
        for (int i = 3; i < Math.min(5, text.length()); i++) {
            int d = Character.digit(text.charAt(i), 16);
            if (d < 0) {
                break;
            }
            v = v * 16 + d;
        }
        return (byte) v;
    }

    /**
     * The text of a token sequence: the concatenated {@link #pieceBytes} decoded as UTF-8, each
     * malformed sequence (maximal subpart) replaced by U+FFFD. Unlike llama.cpp's
     * {@code common_detokenize}, the leading space that the add-space-prefix rule puts on the first
     * piece is kept.
     */
    String decode(int[] tokens, boolean renderSpecial) {
        byte[] buf = new byte[Math.max(16, tokens.length * 4)];
        int len = 0;
        for (int id : tokens) {
            byte[] p = pieceBytes(id, renderSpecial);
            if (len + p.length > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + p.length));
            }
            System.arraycopy(p, 0, buf, len, p.length);
            len += p.length;
        }
        return Utf8.decode(buf, 0, len);
    }
}
