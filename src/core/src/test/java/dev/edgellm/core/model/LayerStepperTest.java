package dev.edgellm.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.testing.SharedFiles;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Running a model block by block gives exactly the hidden states of the whole forward pass, and a
 * pass that finishes only the last token gives exactly that token's.
 */
class LayerStepperTest {

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "gemma3-tiny-q4_0.gguf"})
    void blockByBlockEqualsTheForwardPass(String name) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(SharedFiles.model(name), b)) {
            int[] tokens = m.tokenizer().encode("One day, a little bird flew over the big green tree and sang a song.", true, false);
            int n = tokens.length;
            int dim = m.config().dim();
            float[] whole = new float[n * dim];
            float[] lastLogits;
            try (Session s = m.newSession(64, 64)) {
                // every position's logits wanted: the last block runs for every token
                float[][] logits = new float[n][];
                s.ingest(tokens, 0, n, (i, l) -> logits[i] = l.clone());
                b.read(s.x, 0, whole, 0, n * dim);   // the final norm's output, one batch
                lastLogits = logits[n - 1];
            }
            try (Session s = m.newSession(64, 64)) {
                // only the last token's: the last block finishes that token alone, in row 0; its
                // hidden state and logits are the full pass's, bit for bit
                float[] logits = s.ingest(tokens);
                float[] row = new float[dim];
                b.read(s.x, 0, row, 0, dim);
                assertArrayEquals(Arrays.copyOfRange(whole, (n - 1) * dim, n * dim), row, name + ": last token's hidden state");
                assertArrayEquals(lastLogits, logits, name + ": last token's logits");
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
