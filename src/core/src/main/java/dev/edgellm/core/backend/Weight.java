package dev.edgellm.core.backend;

import dev.edgellm.core.gguf.GgmlType;

/**
 * A weight tensor prepared by a {@link Backend}: a view of the memory-mapped file for CPU backends,
 * a device buffer for GPU backends. Shape follows ggml: {@link #cols()} is the row length (input
 * features), {@link #rows()} the number of rows (output features).
 */
public interface Weight {
    String name();

    GgmlType type();

    int rows();

    int cols();
}
