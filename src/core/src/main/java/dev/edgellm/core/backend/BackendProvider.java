package dev.edgellm.core.backend;

/**
 * Entry point of a backend plugin, discovered with {@link java.util.ServiceLoader}. Plugins register
 * an implementation in {@code META-INF/services/dev.edgellm.core.backend.BackendProvider}.
 */
public interface BackendProvider {
    /** Stable id used by {@code --backend} and configuration ("scalar", "vector", "opencl"). */
    String id();

    /** Static preference among usable backends when nothing was measured: higher wins. */
    int priority();

    /** Looks at the hardware. Cheap, and never throws: an unusable backend says why. */
    BackendProbe probe();

    /** Creates a backend instance; only called when {@link #probe()} said it is usable. */
    Backend create(BackendOptions options);
}
