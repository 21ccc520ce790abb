package dev.edgellm.core.model;

/** More tokens than the session's context holds. */
public final class ContextOverflowException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int position;
    private final int requested;
    private final int contextLength;

    public ContextOverflowException(int position, int requested, int contextLength) {
        super("context overflow: " + position + " tokens held + " + requested + " new exceed the context length of " + contextLength);
        this.position = position;
        this.requested = requested;
        this.contextLength = contextLength;
    }

    public int position() {
        return position;
    }

    public int requested() {
        return requested;
    }

    public int contextLength() {
        return contextLength;
    }
}
