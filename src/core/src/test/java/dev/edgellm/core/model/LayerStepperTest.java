package dev.edgellm.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.testing.SharedFiles;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Running a model block by block gives exactly the hidden states of the whole forward pass. */
class LayerStepperTest {

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "gemma3-tiny-q4_0.gguf"})
    void blockByBlockEqualsTheForwardPass(String name) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(SharedFiles.model(name), b)) {
            int[] tokens = m.tokenizer().encode("One day, a little bird flew over the big green tree and sang a song.", true, false);
            int n = tokens.length;
            int dim = m.config().dim();
            float[] whole = new float[n * dim];
            try (Session s = m.newSession(64, 64)) {
                s.ingest(tokens);
                b.read(s.x, 0, whole, 0, n * dim);   // the final norm's output, one batch
            }
            float[] x = new float[n * dim];
            try (LayerStepper st = new LayerStepper(m, 64, 5)) {   // other batches: 5, 5, 5, ...
                st.embed(tokens, n, x);
                for (int l = 0; l < m.config().layers(); l++) {
                    st.layer(l, x, n);
                }
                st.outputNorm(x, n);
                assertArrayEquals(whole, x, name);
                // a block run twice on the same input gives the same output (the cache is overwritten)
                float[] again = new float[n * dim];
                st.embed(tokens, n, again);
                float[] copy = Arrays.copyOf(again, again.length);
                st.layer(0, again, n);
                st.layer(0, copy, n);
                assertArrayEquals(again, copy);
                assertThrows(IllegalArgumentException.class, () -> st.layer(m.config().layers(), copy, n));
                assertThrows(IllegalArgumentException.class, () -> st.layer(0, copy, 65));
            }
        }
    }
}
