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

    /**
     * Whether probing or creating this backend loads native code (a driver) that may install signal
     * handlers. Such calls run under {@link dev.edgellm.core.system.JvmSignalHandlers#guard}; the
     * others skip it, which spares a pure-Java process the foreign-function machinery the guard
     * needs (~2 MiB resident, measured with {@code bench} on Gemma 3 1B).
     */
    default boolean loadsNativeCode() {
        return false;
    }
}
