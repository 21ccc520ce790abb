package dev.edgellm.service.engine;

import java.time.Duration;

/** No model is loaded (still loading, missing, does not fit, failed): the reason says which. */
public final class EngineUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Duration retryAfter;

    public EngineUnavailableException(String reason, Duration retryAfter) {
        super(reason);
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
