package dev.edgellm.service.engine;

/** Why a job ended, in OpenAI's terms where they exist. */
public enum FinishReason {
    /** End-of-generation token or a stop string. */
    STOP("stop"),
    /** {@code max_tokens} reached, or the context is full. */
    LENGTH("length"),
    /** The caller cancelled (client disconnected) before the end. */
    CANCELLED("cancelled");

    private final String openAi;

    FinishReason(String openAi) {
        this.openAi = openAi;
    }

    /** The OpenAI {@code finish_reason} value. */
    public String openAi() {
        return openAi;
    }
}
