package dev.edgellm.core.backend;

/** A tensor whose type or shape a backend cannot compute with; the message names the tensor. */
public final class UnsupportedTensorException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnsupportedTensorException(String message) {
        super(message);
    }
}
