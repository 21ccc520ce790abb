package dev.edgellm.core.backend.scalar;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.testing.BackendConformanceSuite;

/**
 * The oracle with three threads against itself with one: row splitting must not change results.
 * (Its math is checked against float64 in {@link ScalarKernelsTest}.)
 */
class ScalarConformanceTest extends BackendConformanceSuite {
    @Override
    protected Backend newBackend() {
        return new ScalarBackend(3);
    }
}
