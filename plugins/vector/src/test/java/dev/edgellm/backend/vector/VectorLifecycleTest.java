package dev.edgellm.backend.vector;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.testing.BackendLifecycleSuite;

/** Repacked weights are freed when their model closes. */
class VectorLifecycleTest extends BackendLifecycleSuite {
    @Override
    protected Backend newBackend() {
        return new VectorBackend(2);
    }
}
