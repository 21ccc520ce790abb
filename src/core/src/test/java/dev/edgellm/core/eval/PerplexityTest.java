package dev.edgellm.core.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.testing.SharedFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama-perplexity's method: chunking, the scored half, the statistics and the base file. */
class PerplexityTest {
    private static final String TEXT = "Once upon a time, there was a little girl named Lily. She liked to play outside in the sun. "
            + "One day, she saw a big red ball in the park. She ran to the ball and kicked it very high. The ball flew over the tree "
            + "and her friend Tom caught it. They laughed and played all day until the sun went down.";

    private static ScalarBackend backend;
    private static LanguageModel model;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws Exception {
        backend = new ScalarBackend(2);
        model = LanguageModel.load(SharedFiles.model("stories260K.gguf"), backend);
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    /**
     * The rule, computed independently: chunk {@code c} is tokens {@code [c*ctx, (c+1)*ctx)} with BOS
     * first, run from an empty cache; positions {@code ctx/2 .. ctx-2} predict the next token.
     */
    @Test
    void chunkingAndScoringRule() throws Exception {
        int ctx = 16;
        int[] tokens = Perplexity.tokenize(model.tokenizer(), TEXT);
        assertEquals(model.tokenizer().bos(), tokens[0], "BOS first");
        int chunks = Perplexity.chunks(tokens.length, ctx);
        assertEquals(tokens.length / ctx, chunks);
        assertEquals(8, Perplexity.firstScored(ctx));
        assertEquals(7, Perplexity.scoredPerChunk(ctx));
        List<Integer> seen = new ArrayList<>();
        Perplexity.Stats st = Perplexity.run(model, tokens, ctx, 5, null, (done, total, s) -> seen.add(done));
        assertEquals((long) chunks * 7, st.count());
        assertEquals(chunks, seen.size(), "progress after every chunk");

        double nll = 0;
        double nll2 = 0;
        try (Session s = model.newSession(ctx, ctx)) {
            for (int c = 0; c < chunks; c++) {
                int[] chunk = java.util.Arrays.copyOfRange(tokens, c * ctx, (c + 1) * ctx);
                chunk[0] = model.tokenizer().bos();
                s.reset();
                float[][] logits = new float[ctx][];
                s.ingest(chunk, 0, ctx, (pos, l) -> logits[pos] = l.clone());
                for (int p = ctx / 2; p <= ctx - 2; p++) {
                    double v = -logSoftmax(logits[p], tokens[c * ctx + p + 1]);
                    nll += v;
                    nll2 += v * v;
                }
            }
        }
        long n = (long) chunks * 7;
        double ppl = Math.exp(nll / n);
        assertEquals(ppl, st.ppl(), 1e-6 * ppl);
        double mean = nll / n;
        assertEquals(Math.sqrt((nll2 / n - mean * mean) / (n - 1)) * ppl, st.pplError(), 1e-6 * ppl);
    }

    private static double logSoftmax(float[] l, int tok) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (float v : l) {
            s += Math.exp(v - max);
        }
        return l[tok] - max - Math.log(s);
    }

    @Test
    void tooShortTextAndTinyContextAreRefused() {
        int[] tokens = Perplexity.tokenize(model.tokenizer(), "Once upon a time.");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Perplexity.chunks(tokens.length, 128));
        assertTrue(e.getMessage().contains("needs at least 256"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Perplexity.chunks(100, 2));
    }

    /**
     * The F32 model on the held-out half of the calibration text (lines 100-195), {@code -c 128}:
     * llama-perplexity (llama.cpp 34af94cd9, 2 threads) prints {@code PPL = 4.4413 +/- 0.14720}.
     */
    @Test
    void heldOutPerplexityMatchesLlamaPerplexity() throws Exception {
        int[] tokens = Perplexity.tokenize(model.tokenizer(), heldOut());
        assertEquals(62, Perplexity.chunks(tokens.length, 128));
        Perplexity.Stats st = Perplexity.run(model, tokens, 128, 64, null, null);
        assertEquals(62 * 63, st.count());
        assertEquals(4.4413, st.ppl(), 0.002);
        assertEquals(0.14720, st.pplError(), 0.0002);
    }

    static String heldOut() throws Exception {
        List<String> lines = Files.readAllLines(SharedFiles.shared().resolve("data/stories-calibration.txt"), StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(99, lines.size())) + "\n";
    }

    @Test
    void baseFileHasLlamaPerplexitysLayoutAndAModelMatchesItself() throws Exception {
        int ctx = 16;
        int[] tokens = Perplexity.tokenize(model.tokenizer(), TEXT);
        int chunks = Perplexity.chunks(tokens.length, ctx);
        int vocab = model.config().vocabSize();
        Path base = dir.resolve("base.kld");
        Perplexity.Stats st;
        try (LogitsFile.Writer w = new LogitsFile.Writer(base, ctx, vocab, chunks, tokens)) {
            st = Perplexity.run(model, tokens, ctx, 8, w, null);
            w.commit();
        }
        byte[] b = Files.readAllBytes(base);
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("_logits_", new String(b, 0, 8, StandardCharsets.US_ASCII));
        assertEquals(ctx, h.getInt(8));
        assertEquals(vocab, h.getInt(12));
        assertEquals(chunks, h.getInt(16));
        assertEquals(tokens[1], h.getInt(20 + 4), "the original tokens, not the BOS-replaced ones");
        int stride = 2 * ((vocab + 1) / 2) + 4;
        assertEquals(20 + 4L * ctx * chunks + 2L * stride * 7 * chunks, b.length);

        try (LogitsFile.Reader r = new LogitsFile.Reader(base)) {
            assertArrayEquals(java.util.Arrays.copyOf(tokens, ctx * chunks), r.tokens());
            KlDivergence kl = Perplexity.compare(model, r, 8, null);
            assertEquals(chunks * 7, kl.count());
            assertTrue(kl.meanKld() < 1e-4, "a model against its own base: " + kl.meanKld());
            assertEquals(1.0, kl.sameTop());
            assertEquals(st.ppl(), kl.ppl(), 1e-9 * st.ppl(), "the same positions and rule");
            assertEquals(kl.ppl(), kl.basePpl(), 0.01 * kl.ppl(), "base PPL from the 16-bit log-probabilities");
            assertTrue(kl.report().contains("Mean    KLD:") && kl.report().contains("Same top p: 100.000"), kl.report());
        }

        Path cut = dir.resolve("cut.kld");
        Files.write(cut, java.util.Arrays.copyOf(b, b.length - 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LogitsFile.Reader(cut));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        Path text = dir.resolve("text.kld");
        Files.writeString(text, "not a base file at all");
        e = assertThrows(IllegalArgumentException.class, () -> new LogitsFile.Reader(text));
        assertTrue(e.getMessage().contains("_logits_"), e.getMessage());
    }
}
