package dev.edgellm.core.gguf;

/**
 * A GGUF file that cannot be read as given: truncated, corrupt, or using something EdgeLLM does
 * not support. The message names the key or tensor and the byte offset where the problem sits.
 */
public final class GgufFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
