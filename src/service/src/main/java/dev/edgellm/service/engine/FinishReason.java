package dev.edgellm.service.engine;

/** Why a job ended, in OpenAI's terms where they exist. */
public enum FinishReason {
    /** End-of-generation token or a stop string. */
    STOP("stop"),
    /** {@code max_tokens} reached, or the context is full. */
    LENGTH("length"),
    /** The request's wall-clock budget ({@code edgellm.limits.max-request-time}) ran out: OpenAI's "length", marked {@link #truncatedBy()}. */
    TIME_LIMIT("length"),
    /** The caller cancelled (client disconnected) before the end. */
    CANCELLED("cancelled");

    private final String openAi;

    FinishReason(String openAi) {
        this.openAi = openAi;
    }

    /** What cut the answer short beyond OpenAI's finish reason ({@code "max_request_time"}), null otherwise. */
    public String truncatedBy() {
        return this == TIME_LIMIT ? "max_request_time" : null;
    }

    /** The OpenAI {@code finish_reason} value. */
    public String openAi() {
        return openAi;
    }
}
