package dev.edgellm.core.tokenizer;

/**
 * Token types as stored in {@code tokenizer.ggml.token_type} (llama.cpp {@code llama_token_type},
 * the SentencePiece piece types).
 */
public enum TokenType {
    UNDEFINED(0), NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    private static final TokenType[] BY_ID = values();

    private final int id;

    TokenType(int id) {
        this.id = id;
    }

    /** The numeric value used in GGUF files. */
    public int id() {
        return id;
    }

    /** The type with this GGUF value; values outside 0..6 are {@link #UNDEFINED}, as in llama.cpp. */
    public static TokenType of(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : UNDEFINED;
    }
}
