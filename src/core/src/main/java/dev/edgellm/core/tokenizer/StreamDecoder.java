package dev.edgellm.core.tokenizer;

import java.util.Arrays;

/**
 * Turns generated tokens into text as they arrive. A character whose UTF-8 bytes are spread over
 * several tokens (byte-fallback tokens, for instance) is returned only once all its bytes are
 * there; until then the incomplete tail stays buffered. Feeding a token sequence through
 * {@link #accept} and then {@link #flush} yields exactly {@link Tokenizer#decode} of the whole
 * sequence. Not thread-safe; use one per generation stream.
 */
public final class StreamDecoder {
    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamDecoder(Tokenizer tokenizer, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
    }

    /**
     * Adds the bytes of token {@code id} and returns the text that is now complete: every whole
     * character, and U+FFFD for bytes that can no longer form one. Possibly empty.
     */
    public String accept(int id) {
        byte[] piece = tokenizer.pieceBytes(id, renderSpecial);
        if (piece.length == 0) {
            return "";
        }
        if (pendingLength + piece.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + piece.length));
        }
        System.arraycopy(piece, 0, pending, pendingLength, piece.length);
        pendingLength += piece.length;
        StringBuilder out = new StringBuilder(pendingLength);
        int consumed = Utf8.decode(pending, 0, pendingLength, out, false);
        System.arraycopy(pending, consumed, pending, 0, pendingLength - consumed);
        pendingLength -= consumed;
        return out.toString();
    }

    /** Returns whatever is still buffered (an incomplete character becomes U+FFFD) and resets. */
    public String flush() {
        String s = Utf8.decode(pending, 0, pendingLength);
        pendingLength = 0;
        return s;
    }

    /** Number of bytes held back waiting for the rest of a character. */
    public int pendingBytes() {
        return pendingLength;
    }
}
