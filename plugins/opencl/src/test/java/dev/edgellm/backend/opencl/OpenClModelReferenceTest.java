package dev.edgellm.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.UnsupportedTensorException;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.testing.ModelReferenceSuite;
import dev.edgellm.core.testing.SharedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The llama.cpp reference checks on the shared models, forced onto the OpenCL backend. */
@ExtendWith(RequiresOpenCl.class)
class OpenClModelReferenceTest extends ModelReferenceSuite {
    @Override
    protected Backend newBackend() {
        return new OpenClBackendProvider().create(BackendOptions.defaults());
    }

    /** The Q4_K_M files hold K-quants and Q5_0, which this backend refuses (below). */
    @Override
    protected boolean runs(String model) {
        return !model.endsWith("q4_k_m");
    }

    @Test
    void refusesTheKQuantFilesNamingTensorAndType() throws Exception {
        try (Backend b = newBackend()) {
            for (String[] m : new String[][] {{"gemma3-kq-q4_k_m.gguf", "Q6_K"}, {"stories260K-q4_k_m.gguf", "Q5_0"}}) {
                UnsupportedTensorException e = assertThrows(UnsupportedTensorException.class,
                        () -> LanguageModel.load(SharedFiles.model(m[0]), b).close());
                assertTrue(e.getMessage().contains("token_embd.weight") && e.getMessage().contains(m[1])
                        && e.getMessage().contains("--backend vector"), e.getMessage());
            }
        }
    }
}
