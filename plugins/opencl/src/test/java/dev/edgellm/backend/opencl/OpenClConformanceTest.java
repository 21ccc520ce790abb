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

    /** Attention sums values in float32 on the device, not in llama.cpp's f16 flash-attention accumulator. */
    @Override
    protected boolean flashF16Attention() {
        return false;
    }

    /** The K-quants and Q4_1/Q5_0/Q5_1 are refused by name (the suite checks that), not computed. */
    @Override
    protected java.util.Set<dev.edgellm.core.gguf.GgmlType> weightTypes() {
        return OpenClBackend.TYPES;
    }
}
