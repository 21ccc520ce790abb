package dev.edgellm.core.tokenizer;

import dev.edgellm.core.gguf.GgufStrings;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * Token text to id: an open-addressing table of ids over the vocabulary's own UTF-8 texts. One
 * int per slot (two slots per token) replaces a {@code HashMap} node, a boxed {@code Integer} and
 * a {@code String} per token: 2 MB for Gemma 3's 262,144 tokens. Immutable once built.
 */
final class TokenIndex {
    private static final int EMPTY = -1;

    private final GgufStrings texts;
    /** Ids, or {@link #EMPTY}; a power-of-two length of at least twice the vocabulary. */
    private final int[] slots;
    private final int mask;

    /**
     * Indexes every text of {@code texts}.
     *
     * @throws IllegalArgumentException naming the text and both ids when a text occurs twice
     */
    TokenIndex(GgufStrings texts) {
        this.texts = texts;
        int capacity = Integer.highestOneBit(Math.max(2, texts.length()) * 2 - 1) << 1;
        this.slots = new int[capacity];
        this.mask = capacity - 1;
        Arrays.fill(slots, EMPTY);
        for (int id = 0; id < texts.length(); id++) {
            int text = id;
            int slot = probe(texts.hash(id), other -> texts.contentEquals(other, text));
            if (slots[slot] != EMPTY) {
                throw new IllegalArgumentException("'" + texts.get(id) + "' has ids " + slots[slot] + " and " + id);
            }
            slots[slot] = id;
        }
    }

    /** The id of {@code text}, or -1. */
    int get(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int id = slots[probe(GgufStrings.hash(utf8, 0, utf8.length), other -> texts.contentEquals(other, utf8, 0, utf8.length))];
        // getBytes turns a lone surrogate into '?': such a text matches no piece, not the piece "?"
        return id >= 0 && hasSurrogate(text) && !texts.get(id).equals(text) ? -1 : id;
    }

    private static boolean hasSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.isSurrogate(text.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The slot holding the text with this {@link GgufStrings#hash}, {@code sameText} telling whether a
     * stored id is that text, or the empty slot where it would go (linear probing).
     */
    private int probe(int hash, IntPredicate sameText) {
        int h = hash * 0x9E3779B9;
        int i = (h ^ (h >>> 16)) & mask;
        while (slots[i] != EMPTY && !sameText.test(slots[i])) {
            i = (i + 1) & mask;
        }
        return i;
    }
}
