package dev.edgellm.service.engine;

import java.time.Duration;

/** The queue in front of the engine is full: try again later. */
public final class QueueFullException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Duration retryAfter;

    public QueueFullException(int capacity, Duration retryAfter) {
        super("the engine is busy: " + capacity + " requests are already waiting; retry after " + Math.max(1, retryAfter.toSeconds()) + " s");
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
