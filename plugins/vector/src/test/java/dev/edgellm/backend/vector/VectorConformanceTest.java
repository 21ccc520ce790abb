package dev.edgellm.backend.vector;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.testing.BackendConformanceSuite;

/** The shared conformance suite (every op, every weight type) against the scalar oracle, at this JVM's species. */
class VectorConformanceTest extends BackendConformanceSuite {
    @Override
    protected Backend newBackend() {
        return new VectorBackendProvider().create(new BackendOptions(2));
    }
}
