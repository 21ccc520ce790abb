package dev.edgellm.core.backend;

/**
 * A buffer of float activations owned by a {@link Backend} (host memory for CPU backends, device
 * memory for GPU backends). Multi-token buffers are row-major {@code [tokens][width]}. The session
 * that allocated a buffer closes it.
 */
public interface Activations extends AutoCloseable {
    /** Capacity in floats. */
    int length();

    /**
     * Releases the buffer (device memory; host buffers are left to the garbage collector).
     * Idempotent; the buffer must not be used afterwards.
     */
    @Override
    default void close() {}
}
