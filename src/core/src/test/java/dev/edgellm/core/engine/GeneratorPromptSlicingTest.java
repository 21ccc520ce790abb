package dev.edgellm.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.model.ContextOverflowException;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.SamplingParams;
import dev.edgellm.core.testing.SharedFiles;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The generation loop's prompt slicing, progress reports and cancellation, on stories260K. */
class GeneratorPromptSlicingTest {
    static ScalarBackend backend;
    static LanguageModel model;

    @BeforeAll
    static void load() throws Exception {
        backend = new ScalarBackend(1);
        model = LanguageModel.load(SharedFiles.model("stories260K.gguf"), backend);
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    private static int[] prompt(int n) {
        int[] p = new int[n];
        int[] text = model.tokenizer().encode("Once upon a time, there was a little girl named Lily. She loved to play outside.", true, false);
        for (int i = 0; i < n; i++) {
            p[i] = text[i % text.length];
        }
        return p;
    }

    @Test
    void slicedPromptGivesTheSameTokensAsOneIngestAndReportsProgressPerBatch() {
        int[] p = prompt(23);
        List<Integer> progress = new ArrayList<>();
        Generator.Result sliced;
        try (Session s = model.newSession(256, 8)) {
            sliced = Generator.generate(s, p, new Generator.Options(12, SamplingParams.greedy(), false), new Generator.Listener() {
                public void onToken(int id, String text) {
                }

                public void onPromptProgress(int done, int total) {
                    assertEquals(23, total);
                    progress.add(done);
                }
            });
        }
        assertEquals(List.of(8, 16, 23), progress);
        // Reference: the whole prompt in one ingest call, then greedy argmax decoding by hand.
        try (Session s = model.newSession(256, 8)) {
            float[] logits = s.ingest(p);
            int[] expected = new int[12];
            for (int i = 0; i < expected.length; i++) {
                int best = 0;
                for (int v = 1; v < logits.length; v++) {
                    if (logits[v] > logits[best]) {
                        best = v;
                    }
                }
                expected[i] = best;
                if (i + 1 < expected.length) {
                    logits = s.next(best);
                }
            }
            assertArrayEquals(expected, sliced.tokens());
        }
        assertEquals(Generator.StopReason.MAX_TOKENS, sliced.reason());
        assertEquals(23, sliced.promptTokens());
    }

    @Test
    void cancellationIsHonouredBetweenPromptBatches() {
        int[] p = prompt(40);
        List<Integer> progress = new ArrayList<>();
        try (Session s = model.newSession(256, 8)) {
            Generator.Result r = Generator.generate(s, p, new Generator.Options(5, SamplingParams.greedy(), false), new Generator.Listener() {
                public void onToken(int id, String text) {
                    throw new AssertionError("no token after cancellation");
                }

                public boolean cancelled() {
                    return progress.size() >= 2;
                }

                public void onPromptProgress(int done, int total) {
                    progress.add(done);
                }
            });
            assertEquals(Generator.StopReason.CANCELLED, r.reason());
            assertEquals(0, r.tokens().length);
            assertEquals(List.of(8, 16), progress);
            assertEquals(16, s.position());
        }
    }

    @Test
    void aPromptLongerThanTheContextIsRejectedBeforeAnyWork() {
        try (Session s = model.newSession(16, 8)) {
            assertThrows(ContextOverflowException.class,
                    () -> Generator.generate(s, prompt(17), new Generator.Options(1, SamplingParams.greedy(), false), null));
            assertEquals(0, s.position());
        }
    }
}
