package dev.edgellm.backend.vector;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.testing.ModelReferenceSuite;

/** The llama.cpp reference checks of the core issue, with the Vector API backend selected. */
class VectorModelReferenceTest extends ModelReferenceSuite {
    @Override
    protected Backend newBackend() {
        return new VectorBackendProvider().create(new BackendOptions(2));
    }
}
