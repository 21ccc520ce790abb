package dev.edgellm.core.backend;

/**
 * A session's key/value cache, owned by the backend that created it. Positions are appended in
 * order; position {@code p} of layer {@code l} lives in slot {@code p % capacity(l)}, so a
 * sliding-window layer with a capacity of {@code window + maxBatch - 1} is a ring buffer that
 * never overwrites a position a query of the current batch still needs.
 */
public interface KvCache extends AutoCloseable {
    KvCacheSpec spec();

    /** Bytes the cache occupies. */
    default long byteSize() {
        return spec().byteSize();
    }

    @Override
    default void close() {}
}
