package dev.edgellm.core.backend.scalar;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.testing.BackendLifecycleSuite;

/** The scalar backend holds nothing outside the heap; the suite checks that closing leaves the process flat. */
class ScalarLifecycleTest extends BackendLifecycleSuite {
    @Override
    protected Backend newBackend() {
        return new ScalarBackend(2);
    }
}
