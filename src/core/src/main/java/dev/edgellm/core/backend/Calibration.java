package dev.edgellm.core.backend;

import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Picks the fastest backend by measuring it: each usable candidate multiplies with the loaded
 * model's own FFN weight, one token at a time (the decode shape) and {@value #PROMPT_BATCH} tokens
 * at a time (the prompt shape). Candidates are ranked by the time a reference request would take
 * ({@value #REF_PROMPT} prompt tokens, {@value #REF_GENERATED} generated), so a device that only
 * wins one phase does not win the choice. A candidate that refuses any tensor of the model
 * ({@link Backend#requireSupported}: a type it does not compute) is left out as unusable for this
 * model.
 *
 * <h2>Measuring a moving target</h2>
 * A JIT-compiled backend is slow until its kernels are compiled, and a shared machine slows any
 * sample down now and then. So a candidate first warms up ({@value #WARM_CALLS} products of each
 * shape, or a quarter of the budget if that comes first: enough calls for a JIT to compile the
 * kernels), then is measured in rounds: each round takes
 * {@value #SAMPLES} samples of each shape (a sample is enough back-to-back products to last
 * about {@value #SAMPLE_MILLIS} ms, then one read that waits for a device's queue) and keeps their
 * medians. Rounds repeat until two successive rounds agree within {@value #STABLE_PERCENT} % on
 * both shapes (at most {@link #MAX_ROUNDS} rounds, and within the time budget); the last round's
 * medians are the result. Each round is logged.
 *
 * <p>The choice compares those medians. A candidate within {@value #TIE_PERCENT} % of the fastest
 * counts as a tie, and among tied candidates the provider with the higher static priority wins
 * (the in-process CPU backend over a device driver): a near tie is within the noise of a shared
 * machine, and the static preference is the safer bet. Candidates are measured in priority order;
 * one that is, after two rounds, {@value #LOSING_FACTOR} times slower than an already settled
 * candidate of higher priority stops there (it cannot win, and settling it would only delay
 * startup). A higher-priority candidate is never cut short this way: it may still be warming up.
 */
public final class Calibration {

    /** Tokens per product in the prompt-shaped measurement. */
    public static final int PROMPT_BATCH = 16;
    /** The reference request candidates are ranked by. */
    public static final int REF_PROMPT = 256;
    public static final int REF_GENERATED = 128;
    /** Samples per shape per round. */
    static final int SAMPLES = 5;
    /** Target duration of one sample. */
    static final long SAMPLE_MILLIS = 4;
    /** Two rounds whose medians agree this closely (percent) are stable. */
    static final int STABLE_PERCENT = 10;
    /** Products of each shape run before measuring. */
    static final int WARM_CALLS = 24;
    /** At most this many rounds per candidate. */
    static final int MAX_ROUNDS = 40;
    /**
     * A candidate of lower priority than a settled one stops after two rounds this many times
     * slower than it (it cannot win; settling would only delay startup).
     */
    static final int LOSING_FACTOR = 3;
    /** Candidates this close (percent) to the fastest tie; the higher static priority wins a tie. */
    static final int TIE_PERCENT = 10;

    /**
     * One candidate's measurement.
     *
     * @param backend             backend id
     * @param usable              whether it could run
     * @param nanosPerOp          median time of one matvec, the decode shape (NaN when unusable or failed)
     * @param gbPerSec            weight bytes streamed per second in the decode shape
     * @param note                probe summary, the failure, or how the measurement went (rounds, stability)
     * @param nanosPerPromptToken median time per token of a {@value #PROMPT_BATCH}-token product, the prompt shape
     * @param rounds              measuring rounds run (0 when not measured)
     * @param stable              whether the last two rounds agreed within {@value #STABLE_PERCENT} %
     */
    public record Result(String backend, boolean usable, double nanosPerOp, double gbPerSec, String note, double nanosPerPromptToken,
                         int rounds, boolean stable) {
        /** Estimated nanoseconds of this weight's products for the reference request. */
        public double score() {
            return REF_PROMPT * nanosPerPromptToken + REF_GENERATED * nanosPerOp;
        }

        static Result unmeasured(String backend, boolean usable, String note) {
            return new Result(backend, usable, Double.NaN, 0, note, Double.NaN, 0, false);
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
     * @param budgetNanos time to spend at most per candidate
     * @param log         receives each round and one summary line per candidate
     */
    public static Outcome run(GgufFile file, List<Backends.Candidate> candidates, BackendOptions options, long budgetNanos,
                              String forced, Consumer<String> log) {
        return run(file.tensors().values(), probeTensor(file), candidates, options, budgetNanos, forced, log, System::nanoTime);
    }

    /** {@link #run(GgufFile, List, BackendOptions, long, String, Consumer)} on a given tensor and clock (tests). */
    static Outcome run(Collection<GgufTensor> all, GgufTensor t, List<Backends.Candidate> candidates, BackendOptions options,
                       long budgetNanos, String forced, Consumer<String> log, LongSupplier clock) {
        List<Result> results = new ArrayList<>();
        for (Backends.Candidate c : candidates) {
            String id = c.provider().id();
            if (!c.probe().usable()) {
                results.add(Result.unmeasured(id, false, c.probe().summary()));
            } else if (forced != null && !forced.isBlank() && !forced.equals(id)) {
                results.add(Result.unmeasured(id, true, "not measured: backend forced to " + forced));
            } else {
                // a lower-priority candidate clearly slower than a settled faster one need not settle
                Result leader = results.stream().filter(r -> r.stable() && priority(candidates, r) > c.provider().priority())
                        .min(Comparator.comparingDouble(Result::score)).orElse(null);
                results.add(measure(c.provider(), all, t, options, budgetNanos, log, clock, leader));
            }
            Result last = results.getLast();
            log.accept(String.format(Locale.ROOT, "calibration %-8s %s", id, !Double.isNaN(last.nanosPerOp())
                    ? String.format(Locale.ROOT, "decode %.1f us per matvec (%.2f GB/s), prompt %.1f us per token; reference request %.1f ms (%s)",
                            last.nanosPerOp() / 1e3, last.gbPerSec(), last.nanosPerPromptToken() / 1e3, last.score() / 1e6, last.note())
                    : (last.usable() ? "" : "unusable: ") + last.note()));
        }
        return choose(results, candidates, forced, t);
    }

    private static Result measure(BackendProvider provider, Collection<GgufTensor> all, GgufTensor t, BackendOptions options,
                                  long budgetNanos, Consumer<String> log, LongSupplier clock, Result leader) {
        String id = provider.id();
        try (Backend b = Backends.create(provider, options)) {
            // A backend that cannot hold every tensor of the model (a type it does not compute, a
            // tensor over its allocation limit) cannot run it, however fast its products are.
            for (GgufTensor any : all) {
                try {
                    b.requireSupported(any);
                } catch (UnsupportedTensorException e) {
                    return Result.unmeasured(id, false, "cannot run this model: " + e.getMessage());
                }
            }
            return measure(b, t, budgetNanos, log, clock, leader);
        } catch (RuntimeException | LinkageError e) {
            return Result.unmeasured(id, false, "calibration failed: " + e);
        }
    }

    private static Result measure(Backend b, GgufTensor t, long budgetNanos, Consumer<String> log, LongSupplier clock, Result leader) {
        String id = b.id();
        try (Weight w = b.weight(t);
             Activations x = b.allocate(t.cols() * PROMPT_BATCH);
             Activations out = b.allocate(t.rows() * PROMPT_BATCH)) {
            float[] values = new float[t.cols() * PROMPT_BATCH];
            for (int i = 0; i < values.length; i++) {
                values[i] = (i % 7 - 3) * 0.25f;
            }
            b.write(values, 0, x, 0, values.length);
            Sampler s = new Sampler(b, w, x, out, clock);
            long start = clock.getAsLong();
            float[] sink = new float[1];
            for (int i = 0; i < WARM_CALLS && (i < 2 || clock.getAsLong() - start < budgetNanos / 4); i++) {
                b.matmul(w, x, out, 1);
                b.matmul(w, x, out, PROMPT_BATCH);
                b.read(out, 0, sink, 0, 1);
            }
            double[] last = null;
            boolean stable = false;
            String losing = null;
            int round = 0;
            while (round < MAX_ROUNDS) {
                round++;
                double decode = s.median(1);
                double prompt = s.median(PROMPT_BATCH) / PROMPT_BATCH;
                double[] now = {decode, prompt};
                stable = last != null && close(last[0], decode) && close(last[1], prompt);
                log.accept(String.format(Locale.ROOT, "calibration %-8s round %d: decode %.1f us, prompt %.1f us per token%s", id, round,
                        decode / 1e3, prompt / 1e3, stable ? " (stable)" : ""));
                last = now;
                if (stable || clock.getAsLong() - start >= budgetNanos) {
                    break;
                }
                if (leader != null && round >= 2 && REF_PROMPT * prompt + REF_GENERATED * decode > LOSING_FACTOR * leader.score()) {
                    losing = leader.backend();
                    break;
                }
            }
            String how = String.format(Locale.ROOT, "%s %s; %s after %d rounds", t.type(), t.shape(),
                    stable ? "stable" : losing != null ? "stopped: over " + LOSING_FACTOR + "x slower than " + losing
                            : "NOT stable within " + STABLE_PERCENT + " %", round);
            return new Result(id, true, last[0], t.byteSize() / last[0], how, last[1], round, stable);
        } catch (RuntimeException | LinkageError e) {
            return Result.unmeasured(id, false, "calibration failed: " + e);
        }
    }

    private static boolean close(double a, double b) {
        return Math.abs(a - b) <= STABLE_PERCENT / 100.0 * Math.min(a, b);
    }

    /** Times samples of one shape. */
    private static final class Sampler {
        private final Backend b;
        private final Weight w;
        private final Activations x;
        private final Activations out;
        private final LongSupplier clock;
        private final float[] sink = new float[1];
        /** Products per sample, per shape (index: tokens == 1 ? 0 : 1), grown until a sample lasts {@link #SAMPLE_MILLIS}. */
        private final int[] perSample = {1, 1};

        Sampler(Backend b, Weight w, Activations x, Activations out, LongSupplier clock) {
            this.b = b;
            this.w = w;
            this.x = x;
            this.out = out;
            this.clock = clock;
        }

        /** The median over {@link #SAMPLES} samples of the time of one {@code tokens}-token product. */
        double median(int tokens) {
            int shape = tokens == 1 ? 0 : 1;
            double[] t = new double[SAMPLES];
            for (int i = 0; i < SAMPLES; i++) {
                int k = perSample[shape];
                long t0 = clock.getAsLong();
                for (int j = 0; j < k; j++) {
                    b.matmul(w, x, out, tokens);
                }
                b.read(out, 0, sink, 0, 1); // a device backend finishes its queue here
                long dt = Math.max(1, clock.getAsLong() - t0);
                t[i] = dt / (double) k;
                if (dt < SAMPLE_MILLIS * 1_000_000L && k < 1 << 16) {
                    perSample[shape] = (int) Math.min(1 << 16, Math.max(k + 1, k * SAMPLE_MILLIS * 1_000_000L / dt));
                }
            }
            Arrays.sort(t);
            return t[SAMPLES / 2];
        }
    }

    private static Outcome choose(List<Result> results, List<Backends.Candidate> candidates, String forced, GgufTensor t) {
        if (forced != null && !forced.isBlank()) {
            Result r = results.stream().filter(x -> x.backend().equals(forced)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("unknown backend '" + forced + "'"));
            if (!r.usable()) {
                throw new IllegalArgumentException("backend '" + forced + "' is not usable here: " + r.note());
            }
            return new Outcome(results, forced, "forced by configuration");
        }
        List<Result> measured = results.stream().filter(r -> r.usable() && !Double.isNaN(r.score())).toList();
        Result fastest = measured.stream().min(Comparator.comparingDouble(Result::score))
                .orElseThrow(() -> new IllegalStateException("no backend could run " + t.name()));
        Result best = fastest;
        for (Result r : measured) {
            if (r.score() <= fastest.score() * (1 + TIE_PERCENT / 100.0) && priority(candidates, r) > priority(candidates, best)) {
                best = r;
            }
        }
        String reason = String.format(Locale.ROOT, "fastest measured: %.1f ms of %s products for a %d-token prompt and %d generated tokens",
                best.score() / 1e6, t.name(), REF_PROMPT, REF_GENERATED);
        if (best != fastest) {
            reason = String.format(Locale.ROOT, "near tie: %s measured %.1f ms, within %d %% of %s's %.1f ms; kept %s (higher static priority)",
                    best.backend(), best.score() / 1e6, TIE_PERCENT, fastest.backend(), fastest.score() / 1e6, best.backend());
        }
        return new Outcome(results, best.backend(), reason);
    }

    private static int priority(List<Backends.Candidate> candidates, Result r) {
        return candidates.stream().filter(c -> c.provider().id().equals(r.backend())).mapToInt(c -> c.provider().priority()).findFirst()
                .orElse(Integer.MIN_VALUE);
    }
}
