package dev.edgellm.core.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.scalar.ScalarKernels;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.Sampler;
import dev.edgellm.core.sampling.SamplingParams;
import dev.edgellm.core.testing.LlamaCppReference.Case;
import dev.edgellm.core.testing.LlamaCppReference.Logit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The acceptance checks against llama.cpp, for any backend: subclasses say which backend to run.
 *
 * <p>Bounds (from the core issue): at every prompt position the reference top-1 is ours whenever
 * the reference top-1/top-2 gap exceeds {@value #GAP}; the logits of the reference top-10 ids lie
 * within {@value #MAX_ERROR} of the reference, with a mean absolute error of at most
 * {@value #MEAN_ERROR} per case; greedy continuations match while the reference gap stays above
 * {@value #GAP}. stories260K greedy output must match exactly for 64 tokens; its Q4_K_M quantization while the
 * reference gap stays above {@value #GAP}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ModelReferenceSuite {
    public static final double GAP = 0.15;
    public static final double MAX_ERROR = 0.15;
    public static final double MEAN_ERROR = 0.04;
    /** Batched and token-by-token logits of the same backend agree to this. */
    public static final double KV_PATH_ERROR = 2e-3;

    private static final String[] GEMMA = {"gemma3-tiny-q4_0", "gemma3-tiny-mixed", "gemma3-kq-q4_k_m"};
    /** stories260K in F32, and quantized by llama-quantize to Q4_K_M (Q5_0, Q8_0 and F16 on its narrow rows). */
    private static final String[] STORIES = {"stories260K", "stories260K-q4_k_m"};

    /** A new backend instance to test. */
    protected abstract Backend newBackend();

    /**
     * Tokens per forward batch for the llama.cpp comparisons: llama.cpp evaluated each prompt in one
     * micro-batch (its default is 512), and its attention arithmetic depends on the batch (64 queries
     * or more take its float32 tiled path), so the prompt goes in one batch here too.
     */
    static final int REFERENCE_BATCH = 512;

    /** Whether the backend runs this shared model (a backend that refuses its tensor types says so here; the refusal is tested elsewhere). */
    protected boolean runs(String model) {
        return true;
    }

    private Backend backend;
    private final List<String> report = new ArrayList<>();

    @BeforeAll
    void openBackend() {
        backend = newBackend();
    }

    @AfterAll
    void closeBackend() {
        backend.close();
        System.out.println("[" + backend.id() + "] llama.cpp reference errors:");
        report.forEach(l -> System.out.println("  " + l));
    }

    private static LlamaCppReference reference(String model) {
        try {
            return LlamaCppReference.load(SharedFiles.reference(model + ".llama-cpp.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Stream<Arguments> gemmaCases() {
        return Stream.of(GEMMA).filter(this::runs).flatMap(m -> IntStream.range(0, reference(m).cases().size()).mapToObj(i -> Arguments.of(m, i)));
    }

    Stream<Arguments> storiesCases() {
        return Stream.of(STORIES).filter(this::runs).flatMap(m -> IntStream.range(0, reference(m).cases().size()).mapToObj(i -> Arguments.of(m, i)));
    }

    Stream<Arguments> allModels() {
        return Stream.concat(Stream.of(STORIES), Stream.of(GEMMA)).filter(this::runs).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("gemmaCases")
    void gemmaMatchesLlamaCpp(String modelName, int index) throws IOException {
        Case c = reference(modelName).cases().get(index);
        try (LanguageModel model = LanguageModel.load(SharedFiles.model(modelName + ".gguf"), backend);
             Session s = model.newSession(2048, REFERENCE_BATCH)) {
            // same prompt tokens (special tokens parsed, BOS added)
            assertArrayEquals(c.tokens(), model.tokenizer().encode(c.text(), true, true), "prompt tokens");

            // teacher-forced logits at every position
            double[] err = new double[3]; // max, sum, count
            List<String> failures = new ArrayList<>();
            float[] logits = s.ingest(c.tokens(), 0, c.tokens().length,
                    (pos, row) -> compare(row, c.topk().get(pos), err, failures, "position " + pos));

            // the full logits at the last position (the older references carry them)
            double fullMax = Double.NaN;
            double fullMean = Double.NaN;
            if (c.lastLogits() != null) {
                double fullSum = 0;
                fullMax = 0;
                for (int i = 0; i < c.lastLogits().length; i++) {
                    double e = Math.abs(logits[i] - c.lastLogits()[i]);
                    fullMax = Math.max(fullMax, e);
                    fullSum += e;
                }
                fullMean = fullSum / c.lastLogits().length;
            }

            // greedy continuation: step i is chosen from the logits before greedy[i] is fed
            int matched = 0;
            int checked = 0;
            for (int i = 0; i < c.greedy().length; i++) {
                Logit[] top = c.chooserTopk(i);
                if (Case.gap(top) <= GAP) {
                    break; // a near-tie: the reference order is within rounding noise from here on
                }
                compare(logits, top, err, failures, "greedy step " + i);
                checked++;
                int ours = Sampler.argmax(logits, logits.length);
                if (ours != c.greedy()[i]) {
                    failures.add("greedy step " + i + ": " + ours + " != reference " + c.greedy()[i] + " (gap " + Case.gap(top) + ")");
                    break;
                }
                matched++;
                logits = s.next(ours);
            }

            double mean = err[1] / err[2];
            synchronized (report) {
                report.add(String.format(Locale.ROOT, "%-20s case %d: top-10 max %.4f mean %.4f (%d logits); last-position all-vocab max %.4f mean %.4f; greedy %d/%d checked steps",
                        modelName, index, err[0], mean, (int) err[2], fullMax, fullMean, matched, checked));
            }
            assertTrue(failures.isEmpty(), modelName + " case " + index + ": " + String.join("; ", failures.subList(0, Math.min(5, failures.size()))));
            assertTrue(mean <= MEAN_ERROR, "mean absolute error " + mean + " exceeds " + MEAN_ERROR);
        }
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("storiesCases")
    void storiesGreedyMatchesLlamaCpp(String modelName, int index) throws IOException {
        Case c = reference(modelName).cases().get(index);
        try (LanguageModel model = LanguageModel.load(SharedFiles.model(modelName + ".gguf"), backend);
             Session s = model.newSession(2048, REFERENCE_BATCH)) {
            int[] prompt = model.tokenizer().encode(c.text(), true, false);
            assertArrayEquals(c.tokens(), prompt, "prompt tokens");
            Generator.Result r = Generator.generate(s, prompt, new Generator.Options(c.greedy().length, SamplingParams.greedy(), true), null);
            if (modelName.equals(STORIES[0])) {
                assertArrayEquals(c.greedy(), r.tokens(), "greedy continuation of '" + c.text() + "'");
                return;
            }
            // The quantized file: equal ids while the reference's top-1/top-2 gap stays above GAP. The
            // third prompt meets a 0.019 tie at step 14, where llama.cpp's own order is rounding
            // noise; the other two continue equal for all 64 tokens.
            int checked = 0;
            for (int i = 0; i < c.greedy().length; i++) {
                if (Case.gap(c.chooserTopk(i)) <= GAP) {
                    break;
                }
                assertTrue(i < r.tokens().length && r.tokens()[i] == c.greedy()[i], "greedy step " + i + " of '" + c.text() + "': "
                        + (i < r.tokens().length ? r.tokens()[i] : "none") + " != reference " + c.greedy()[i]);
                checked++;
            }
            int equal = 0;
            while (equal < c.greedy().length && equal < r.tokens().length && r.tokens()[equal] == c.greedy()[equal]) {
                equal++;
            }
            synchronized (report) {
                report.add(String.format(Locale.ROOT, "%-20s case %d: greedy %d/%d equal (%d checked, up to the first reference gap under %.2f)",
                        modelName, index, equal, c.greedy().length, checked, GAP));
            }
        }
    }

    /**
     * The KV-cache path (one token at a time) gives the logits of the batched prompt path, for
     * batches under 64 tokens (from 64 on, attention takes llama.cpp's float32 path, as llama.cpp
     * does, and differs by its f16 accumulator's rounding).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("allModels")
    void tokenByTokenMatchesBatch(String modelName) throws IOException {
        Case c = reference(modelName).cases().stream().max(java.util.Comparator.comparingInt(x -> x.tokens().length)).orElseThrow();
        int[] tokens = c.tokens();
        try (LanguageModel model = LanguageModel.load(SharedFiles.model(modelName + ".gguf"), backend);
             Session batched = model.newSession(2048, ScalarKernels.FLASH_TILE_QUERIES - 1); // the attention arithmetic of token-by-token decoding
             Session stepwise = model.newSession(2048, 1)) { // batch 1: sliding layers keep exactly the window, so the ring wraps
            int vocab = model.config().vocabSize();
            float[][] expected = new float[tokens.length][];
            batched.ingest(tokens, 0, tokens.length, (pos, row) -> expected[pos] = row.clone());
            double worst = 0;
            for (int i = 0; i < tokens.length; i++) {
                float[] row = stepwise.next(tokens[i]);
                assertEquals(vocab, row.length);
                for (int j = 0; j < vocab; j++) {
                    worst = Math.max(worst, Math.abs(row[j] - expected[i][j]));
                }
            }
            synchronized (report) {
                report.add(String.format(Locale.ROOT, "%-18s token-by-token vs batched (%d tokens, window %d): max diff %.2e",
                        modelName, tokens.length, model.config().slidingWindow(), worst));
            }
            assertTrue(worst <= KV_PATH_ERROR, "token-by-token logits differ from batched ones by " + worst);
        }
    }

    private static void compare(float[] logits, Logit[] top, double[] err, List<String> failures, String where) {
        if (Case.gap(top) > GAP) {
            int ours = Sampler.argmax(logits, logits.length);
            if (ours != top[0].id()) {
                failures.add(where + ": top-1 " + ours + " != reference " + top[0].id() + " (gap " + Case.gap(top) + ")");
            }
        }
        for (Logit l : top) {
            double e = Math.abs(logits[l.id()] - l.logit());
            err[0] = Math.max(err[0], e);
            err[1] += e;
            err[2]++;
            if (e > MAX_ERROR) {
                failures.add(String.format(Locale.ROOT, "%s: logit of %d is %.4f, reference %.4f", where, l.id(), logits[l.id()], l.logit()));
            }
        }
    }
}
