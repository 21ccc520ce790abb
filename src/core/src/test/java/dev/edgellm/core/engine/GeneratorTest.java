package dev.edgellm.core.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.model.ContextOverflowException;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.SamplingParams;
import dev.edgellm.core.testing.SharedFiles;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static ScalarBackend backend;
    private static LanguageModel model;
    private static int[] prompt;

    @BeforeAll
    static void load() throws Exception {
        backend = new ScalarBackend(1);
        model = LanguageModel.load(SharedFiles.model("stories260K.gguf"), backend);
        prompt = model.tokenizer().encode("Once upon a time", true, false);
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    private static Generator.Result greedy(int ctx, Generator.Options o, Generator.Listener l) {
        try (Session s = model.newSession(ctx, 8)) {
            return Generator.generate(s, prompt, o, l);
        }
    }

    @Test
    void maxTokensAndStreamedTextAgree() {
        StringBuilder streamed = new StringBuilder();
        int[] count = new int[1];
        Generator.Result r = greedy(512, new Generator.Options(30, SamplingParams.greedy(), true), (id, text) -> {
            streamed.append(text);
            count[0]++;
        });
        assertEquals(Generator.StopReason.MAX_TOKENS, r.reason());
        assertEquals(30, r.tokens().length);
        assertEquals(30, count[0]);
        assertEquals(r.text(), streamed.toString());
        assertEquals(model.tokenizer().decode(r.tokens(), false), r.text());
        assertEquals(prompt.length, r.promptTokens());
        assertTrue(r.firstTokenNanos() > 0 && r.tokensPerSecond() > 0);
    }

    @Test
    void stopTokenEndsGenerationWithoutBeingEmitted() {
        int[] all = greedy(512, new Generator.Options(30, SamplingParams.greedy(), true), null).tokens();
        int stop = all[12];
        int first = 0;
        while (all[first] != stop) {
            first++;
        }
        Generator.Result r = greedy(512, new Generator.Options(30, SamplingParams.greedy(), true, new int[] {stop}), null);
        assertEquals(Generator.StopReason.END_OF_GENERATION, r.reason());
        assertArrayEquals(Arrays.copyOf(all, first), r.tokens());
    }

    @Test
    void contextFullStops() {
        Generator.Result r = greedy(prompt.length + 5, new Generator.Options(100, SamplingParams.greedy(), true), null);
        assertEquals(Generator.StopReason.CONTEXT_FULL, r.reason());
        assertEquals(6, r.tokens().length); // the last one is predicted from the final position, not fed back
    }

    @Test
    void cancellationIsPolledBetweenTokens() {
        int[] seen = new int[1];
        Generator.Result r = greedy(512, new Generator.Options(100, SamplingParams.greedy(), true), new Generator.Listener() {
            @Override
            public void onToken(int id, String text) {
                seen[0]++;
            }

            @Override
            public boolean cancelled() {
                return seen[0] >= 3;
            }
        });
        assertEquals(Generator.StopReason.CANCELLED, r.reason());
        assertEquals(3, r.tokens().length);
    }

    @Test
    void promptLongerThanContextIsAClearError() {
        try (Session s = model.newSession(3, 8)) {
            ContextOverflowException e = assertThrows(ContextOverflowException.class,
                    () -> Generator.generate(s, prompt, new Generator.Options(5, SamplingParams.greedy(), true), null));
            assertTrue(e.getMessage().contains("context length of 3"), e.getMessage());
        }
    }

    @Test
    void sessionsAreIndependentAndResettable() {
        try (Session s = model.newSession(256, 8)) {
            float[] a = s.ingest(prompt).clone();
            s.reset();
            float[] b = s.ingest(prompt).clone();
            assertArrayEquals(a, b);
            assertEquals(prompt.length, s.position());
        }
    }
}
