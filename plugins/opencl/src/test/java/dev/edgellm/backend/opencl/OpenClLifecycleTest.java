package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.testing.BackendLifecycleSuite;
import org.junit.jupiter.api.extension.ExtendWith;

/** Device buffers of weights, activations and KV caches are released when their model and session close. */
@ExtendWith(RequiresOpenCl.class)
class OpenClLifecycleTest extends BackendLifecycleSuite {
    @Override
    protected Backend newBackend() {
        return new OpenClBackendProvider().create(BackendOptions.defaults());
    }
}
