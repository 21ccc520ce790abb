package dev.edgellm.core.backend;

/**
 * A buffer of float activations owned by a {@link Backend} (host memory for CPU backends, device
 * memory for GPU backends). Multi-token buffers are row-major {@code [tokens][width]}.
 */
public interface Activations {
    /** Capacity in floats. */
    int length();
}
