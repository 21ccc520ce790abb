package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.testing.ModelReferenceSuite;
import org.junit.jupiter.api.extension.ExtendWith;

/** The llama.cpp reference checks on the shared models, forced onto the OpenCL backend. */
@ExtendWith(RequiresOpenCl.class)
class OpenClModelReferenceTest extends ModelReferenceSuite {
    @Override
    protected Backend newBackend() {
        return new OpenClBackendProvider().create(BackendOptions.defaults());
    }
}
