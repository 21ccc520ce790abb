package dev.edgellm.service.request;

/**
 * A request field that is wrong, found by {@link RequestRules}: each intake answers it in its own
 * terms (REST: 400 in OpenAI's error shape; MQTT: an {@code error} response with the code).
 */
public final class InvalidRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** {@code error.code} for a prompt over the token or byte limit. */
    public static final String PROMPT_TOO_LONG = "prompt_too_long";
    /** {@code error.code} for a prompt that does not leave room in the context. */
    public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";

    private final String param;
    private final String code;

    public InvalidRequestException(String param, String code, String message) {
        super(message, null, false, false);
        this.param = param;
        this.code = code;
    }

    public InvalidRequestException(String param, String message) {
        this(param, null, message);
    }

    /** The field at fault ({@code max_tokens}, {@code messages[2].role}), or null. */
    public String param() {
        return param;
    }

    /** A machine-readable code, or null for a plain invalid field. */
    public String code() {
        return code;
    }
}
