package dev.edgellm.core.model;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.testing.ModelReferenceSuite;

/** The scalar oracle against llama.cpp's outputs for the shared models. */
class ScalarModelReferenceTest extends ModelReferenceSuite {
    @Override
    protected Backend newBackend() {
        return new ScalarBackend(2);
    }
}
