package dev.edgellm.core.backend;

/**
 * How a backend is created.
 *
 * @param threads worker threads for compute (1 = the calling thread only)
 */
public record BackendOptions(int threads) {
    public BackendOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
    }

    /** One thread per available core. */
    public static BackendOptions defaults() {
        return new BackendOptions(Runtime.getRuntime().availableProcessors());
    }
}
