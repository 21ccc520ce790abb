package dev.edgellm.core.backend;

import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Picks the fastest backend by measuring it: each usable candidate multiplies with the loaded
 * model's own FFN weight, one token at a time (the decode shape) and {@value #PROMPT_BATCH} tokens
 * at a time (the prompt shape), for a short fixed time budget. Candidates are ranked by the time a
 * reference request would take ({@value #REF_PROMPT} prompt tokens, {@value #REF_GENERATED}
 * generated), so a device that only wins one phase does not win the choice. A candidate that
 * refuses any tensor of the model ({@link Backend#requireSupported}: a type it does not compute)
 * is left out as unusable for this model. The results, per candidate and in words, are kept for
 * reports.
 */
public final class Calibration {

    /** Tokens per product in the prompt-shaped measurement. */
    public static final int PROMPT_BATCH = 16;
    /** The reference request candidates are ranked by. */
    public static final int REF_PROMPT = 256;
    public static final int REF_GENERATED = 128;

    /**
     * One candidate's measurement.
     *
     * @param backend             backend id
     * @param usable              whether it could run
     * @param nanosPerOp          mean time of one matvec, the decode shape (NaN when unusable or failed)
     * @param gbPerSec            weight bytes streamed per second in the decode shape
     * @param note                probe summary or the failure
     * @param nanosPerPromptToken time per token of a {@value #PROMPT_BATCH}-token product, the prompt shape
     */
    public record Result(String backend, boolean usable, double nanosPerOp, double gbPerSec, String note, double nanosPerPromptToken) {
        /** Estimated nanoseconds of this weight's products for the reference request. */
        public double score() {
            return REF_PROMPT * nanosPerPromptToken + REF_GENERATED * nanosPerOp;
        }
    }

    /** The outcome: every result, the chosen backend id and why. */
    public record Outcome(List<Result> results, String chosen, String reason) {}

    private Calibration() {}

    /** The weight calibration multiplies with: layer 0's FFN up projection, else the largest 2-D tensor. */
    public static GgufTensor probeTensor(GgufFile file) {
        return file.findTensor("blk.0.ffn_up.weight").orElseGet(() -> file.tensors().values().stream()
                .filter(t -> t.dims().length == 2)
                .max(Comparator.comparingLong(GgufTensor::byteSize))
                .orElseThrow(() -> new IllegalArgumentException(file.path() + " has no 2-D tensor to calibrate with")));
    }

    /**
     * Measures every usable candidate and picks the fastest. {@code forced}, when given, wins
     * without measuring others.
     *
     * @param budgetNanos time to spend per candidate (after one warm-up product)
     * @param log         receives one line per candidate
     */
    public static Outcome run(GgufFile file, List<Backends.Candidate> candidates, BackendOptions options, long budgetNanos,
                              String forced, Consumer<String> log) {
        GgufTensor t = probeTensor(file);
        List<Result> results = new ArrayList<>();
        for (Backends.Candidate c : candidates) {
            String id = c.provider().id();
            if (!c.probe().usable()) {
                results.add(new Result(id, false, Double.NaN, 0, c.probe().summary(), Double.NaN));
            } else if (forced != null && !forced.isBlank() && !forced.equals(id)) {
                results.add(new Result(id, true, Double.NaN, 0, "not measured: backend forced to " + forced, Double.NaN));
            } else {
                results.add(measure(c.provider(), file, t, options, budgetNanos));
            }
            Result last = results.getLast();
            log.accept(String.format(Locale.ROOT, "calibration %-8s %s", id, !Double.isNaN(last.nanosPerOp())
                    ? String.format(Locale.ROOT, "decode %.1f us per matvec (%.2f GB/s), prompt %.1f us per token; reference request %.1f ms (%s)",
                            last.nanosPerOp() / 1e3, last.gbPerSec(), last.nanosPerPromptToken() / 1e3, last.score() / 1e6, last.note())
                    : (last.usable() ? "" : "unusable: ") + last.note()));
        }
        return choose(results, forced, t);
    }

    private static Result measure(BackendProvider provider, GgufFile file, GgufTensor t, BackendOptions options, long budgetNanos) {
        String id = provider.id();
        try (Backend b = provider.create(options)) {
            // A backend that cannot hold every tensor of the model (a type it does not compute, a
            // tensor over its allocation limit) cannot run it, however fast its products are.
            for (GgufTensor any : file.tensors().values()) {
                try {
                    b.requireSupported(any);
                } catch (UnsupportedTensorException e) {
                    return new Result(id, false, Double.NaN, 0, "cannot run this model: " + e.getMessage(), Double.NaN);
                }
            }
            Weight w = b.weight(t);
            Activations x = b.allocate(t.cols() * PROMPT_BATCH);
            Activations out = b.allocate(t.rows() * PROMPT_BATCH);
            float[] values = new float[t.cols() * PROMPT_BATCH];
            for (int i = 0; i < values.length; i++) {
                values[i] = (i % 7 - 3) * 0.25f;
            }
            b.write(values, 0, x, 0, values.length);
            // Half the budget warms up both shapes (JIT compilation, device upload): a SIMD kernel
            // measured cold runs interpreted and would lose to anything.
            warmUp(b, w, x, out, budgetNanos / 2);
            double decode = timePerProduct(b, w, x, out, 1, budgetNanos / 4);
            double prompt = timePerProduct(b, w, x, out, PROMPT_BATCH, budgetNanos / 4) / PROMPT_BATCH;
            return new Result(id, true, decode, t.byteSize() / decode, String.format(Locale.ROOT, "%s %s", t.type(), t.shape()), prompt);
        } catch (RuntimeException | LinkageError e) {
            return new Result(id, false, Double.NaN, 0, "calibration failed: " + e, Double.NaN);
        }
    }

    /** Runs both shapes, alternating, for {@code nanos} (and at least a few times each). */
    private static void warmUp(Backend b, Weight w, Activations x, Activations out, long nanos) {
        float[] sink = new float[1];
        long start = System.nanoTime();
        for (int i = 0; i < 4 || System.nanoTime() - start < nanos; i++) {
            b.matmul(w, x, out, i % 2 == 0 ? 1 : PROMPT_BATCH);
            b.read(out, 0, sink, 0, 1);
        }
    }

    /** Mean nanoseconds of one {@code n}-token product. */
    private static double timePerProduct(Backend b, Weight w, Activations x, Activations out, int n, long budgetNanos) {
        float[] sink = new float[1];
        long start = System.nanoTime();
        int ops = 0;
        do {
            b.matmul(w, x, out, n);
            ops++;
        } while (System.nanoTime() - start < budgetNanos && ops < 100_000);
        b.read(out, 0, sink, 0, 1); // a device backend finishes its queue here
        return (System.nanoTime() - start) / (double) ops;
    }

    private static Outcome choose(List<Result> results, String forced, GgufTensor t) {
        if (forced != null && !forced.isBlank()) {
            Result r = results.stream().filter(x -> x.backend().equals(forced)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown backend '" + forced + "'"));
            if (!r.usable()) {
                throw new IllegalArgumentException("backend '" + forced + "' is not usable here: " + r.note());
            }
            return new Outcome(results, forced, "forced by configuration");
        }
        Result best = results.stream().filter(r -> r.usable() && !Double.isNaN(r.score()))
                .min(Comparator.comparingDouble(Result::score))
                .orElseThrow(() -> new IllegalStateException("no backend could run " + t.name()));
        String reason = String.format(Locale.ROOT, "fastest measured: %.1f ms of %s products for a %d-token prompt and %d generated tokens",
                best.score() / 1e6, t.name(), REF_PROMPT, REF_GENERATED);
        return new Outcome(results, best.backend(), reason);
    }
}
