package dev.edgellm.service.engine;

/** A job failed inside the engine, or the engine stopped before running it. */
public final class EngineFailureException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EngineFailureException(String message, Throwable cause) {
        super(message, cause);
    }
}
