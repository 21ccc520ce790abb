package dev.edgellm.core.backend;

import dev.edgellm.core.gguf.GgmlType;

/**
 * A weight tensor prepared by a {@link Backend}: a view of the memory-mapped file, or the backend's
 * own repacked copy, for CPU backends; a device buffer for GPU backends. Shape follows ggml:
 * {@link #cols()} is the row length (input features), {@link #rows()} the number of rows (output
 * features).
 *
 * <p>What the backend holds for a weight (a repacked copy, device memory) is released by
 * {@link #close()}; the model that loaded the weight closes it when it is unloaded. Closing twice
 * is harmless; using a closed weight is an error (on a CPU backend it may read freed memory), so
 * only close weights no forward pass can still use.
 */
public interface Weight extends AutoCloseable {
    String name();

    GgmlType type();

    int rows();

    int cols();

    /** Bytes the backend holds for this weight (its repacked copy or device buffers); 0 for a view of the mapped file. */
    default long ownedBytes() {
        return 0;
    }

    /** Releases what the backend holds for this weight. Idempotent. */
    @Override
    default void close() {}
}
