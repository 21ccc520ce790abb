package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.testing.BackendConformanceSuite;
import org.junit.jupiter.api.extension.ExtendWith;

/** The OpenCL backend against the scalar oracle, on the device the provider chooses (pocl's CPU device in CI). */
@ExtendWith(RequiresOpenCl.class)
class OpenClConformanceTest extends BackendConformanceSuite {
    @Override
    protected Backend newBackend() {
        return new OpenClBackendProvider().create(BackendOptions.defaults());
    }
}
