package dev.edgellm.core.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Backend;
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
 * {@value #GAP}. stories260K greedy output must match exactly for 64 tokens.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ModelReferenceSuite {
    public static final double GAP = 0.15;
    public static final double MAX_ERROR = 0.15;
    public static final double MEAN_ERROR = 0.04;
    /** Batched and token-by-token logits of the same backend agree to this. */
    public static final double KV_PATH_ERROR = 2e-3;

    private static final String[] GEMMA = {"gemma3-tiny-q4_0", "gemma3-tiny-mixed"};

    /** A new backend instance to test. */
    protected abstract Backend newBackend();

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
        return Stream.of(GEMMA).flatMap(m -> IntStream.range(0, reference(m).cases().size()).mapToObj(i -> Arguments.of(m, i)));
    }

    Stream<Arguments> storiesCases() {
        return IntStream.range(0, reference("stories260K").cases().size()).mapToObj(i -> Arguments.of("stories260K", i));
    }

    Stream<Arguments> allModels() {
        return Stream.of("stories260K", GEMMA[0], GEMMA[1]).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("gemmaCases")
    void gemmaMatchesLlamaCpp(String modelName, int index) throws IOException {
        Case c = reference(modelName).cases().get(index);
        try (LanguageModel model = LanguageModel.load(SharedFiles.model(modelName + ".gguf"), backend);
             Session s = model.newSession(2048, 64)) {
            // same prompt tokens (special tokens parsed, BOS added)
            assertArrayEquals(c.tokens(), model.tokenizer().encode(c.text(), true, true), "prompt tokens");

            // teacher-forced logits at every position
            double[] err = new double[3]; // max, sum, count
            List<String> failures = new ArrayList<>();
            float[] logits = s.ingest(c.tokens(), 0, c.tokens().length,
                    (pos, row) -> compare(row, c.topk().get(pos), err, failures, "position " + pos));

            // the full logits at the last position
            double fullMax = 0;
            double fullSum = 0;
            for (int i = 0; i < c.lastLogits().length; i++) {
                double e = Math.abs(logits[i] - c.lastLogits()[i]);
                fullMax = Math.max(fullMax, e);
                fullSum += e;
            }
            double fullMean = fullSum / c.lastLogits().length;

            // greedy continuation: step i is chosen from the logits before greedy[i] is fed
            int matched = 0;
            int checked = 0;
            for (int i = 0; i < c.greedy().length; i++) {
                Logit[] top = i == 0 ? c.topk().get(c.topk().size() - 1) : c.greedyTopk().get(i - 1);
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
                report.add(String.format(Locale.ROOT, "%-18s case %d: top-10 max %.4f mean %.4f (%d logits); last-position all-vocab max %.4f mean %.4f; greedy %d/%d checked steps",
                        modelName, index, err[0], mean, (int) err[2], fullMax, fullMean, matched, checked));
            }
            assertTrue(failures.isEmpty(), modelName + " case " + index + ": " + String.join("; ", failures.subList(0, Math.min(5, failures.size()))));
            assertTrue(mean <= MEAN_ERROR, "mean absolute error " + mean + " exceeds " + MEAN_ERROR);
        }
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("storiesCases")
    void storiesGreedyMatchesLlamaCppExactly(String modelName, int index) throws IOException {
        Case c = reference(modelName).cases().get(index);
        try (LanguageModel model = LanguageModel.load(SharedFiles.model(modelName + ".gguf"), backend);
             Session s = model.newSession(2048, 64)) {
            int[] prompt = model.tokenizer().encode(c.text(), true, false);
            assertArrayEquals(c.tokens(), prompt, "prompt tokens");
            Generator.Result r = Generator.generate(s, prompt, new Generator.Options(c.greedy().length, SamplingParams.greedy(), true), null);
            assertArrayEquals(c.greedy(), r.tokens(), "greedy continuation of '" + c.text() + "'");
        }
    }

    /** The KV-cache path (one token at a time) gives the logits of the batched prompt path. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("allModels")
    void tokenByTokenMatchesBatch(String modelName) throws IOException {
        Case c = reference(modelName).cases().stream().max(java.util.Comparator.comparingInt(x -> x.tokens().length)).orElseThrow();
        int[] tokens = c.tokens();
        try (LanguageModel model = LanguageModel.load(SharedFiles.model(modelName + ".gguf"), backend);
             Session batched = model.newSession(2048, 64);
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
