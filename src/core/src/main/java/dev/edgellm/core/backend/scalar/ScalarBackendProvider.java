package dev.edgellm.core.backend.scalar;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.BackendProbe;
import dev.edgellm.core.backend.BackendProvider;
import java.util.Map;

/** Registers the scalar oracle backend: usable everywhere, lowest priority. */
public final class ScalarBackendProvider implements BackendProvider {
    @Override
    public String id() {
        return ScalarBackend.ID;
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public BackendProbe probe() {
        return new BackendProbe(ScalarBackend.ID, true, "plain Java reference kernels, always available",
                Map.of("cores", Integer.toString(Runtime.getRuntime().availableProcessors())));
    }

    @Override
    public Backend create(BackendOptions options) {
        return new ScalarBackend(options.threads());
    }
}
