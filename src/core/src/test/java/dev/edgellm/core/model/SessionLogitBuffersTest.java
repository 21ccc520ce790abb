package dev.edgellm.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.testing.SharedFiles;
import org.junit.jupiter.api.Test;

/**
 * The output head's buffers: one row while generating, {@link Session#LOGIT_ROWS} rows once every
 * position's logits are asked for, with the same logits either way.
 */
class SessionLogitBuffersTest {
    @Test
    void oneRowUntilEveryPositionIsAskedFor() throws Exception {
        try (ScalarBackend backend = new ScalarBackend(1);
                LanguageModel model = LanguageModel.load(SharedFiles.model("stories260K.gguf"), backend);
                Session plain = model.newSession(64, 8);
                Session every = model.newSession(64, 8)) {
            int vocab = model.config().vocabSize();
            int dim = model.config().dim();
            int[] prompt = model.tokenizer().encode("Once upon a time there was a little dog", true, false);
            assertEquals(vocab, plain.logits.length());
            assertEquals(dim, plain.rows.length());

            float[] last = plain.ingest(prompt).clone();
            plain.next(42);
            assertEquals(vocab, plain.logits.length(), "generating never grows the buffers");

            float[][] rows = new float[prompt.length][];
            float[] lastEvery = every.ingest(prompt, 0, prompt.length, (i, l) -> rows[i] = l.clone());
            assertEquals(Session.LOGIT_ROWS * vocab, every.logits.length());
            assertEquals(Session.LOGIT_ROWS * dim, every.rows.length());
            assertArrayEquals(last, lastEvery);
            assertArrayEquals(last, rows[prompt.length - 1]);
        }
    }
}
