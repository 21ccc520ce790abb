package dev.edgellm.core.backend;

import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Picks the fastest backend by measuring it: each usable candidate runs matrix-vector products
 * with the loaded model's own FFN weight (the shape that dominates a decode step) for a short,
 * fixed time budget. The result, per candidate and in words, is kept for reports.
 */
public final class Calibration {

    /**
     * One candidate's measurement.
     *
     * @param backend    backend id
     * @param usable     whether it could run
     * @param nanosPerOp mean time of one matvec (NaN when unusable or failed)
     * @param gbPerSec   weight bytes streamed per second
     * @param note       probe summary or the failure
     */
    public record Result(String backend, boolean usable, double nanosPerOp, double gbPerSec, String note) {}

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
                results.add(new Result(id, false, Double.NaN, 0, c.probe().summary()));
            } else if (forced != null && !forced.isBlank() && !forced.equals(id)) {
                results.add(new Result(id, true, Double.NaN, 0, "not measured: backend forced to " + forced));
            } else {
                results.add(measure(c.provider(), t, options, budgetNanos));
            }
            Result last = results.getLast();
            log.accept(String.format(Locale.ROOT, "calibration %-8s %s", id, !Double.isNaN(last.nanosPerOp())
                    ? String.format(Locale.ROOT, "%.1f us per matvec, %.2f GB/s (%s)", last.nanosPerOp() / 1e3, last.gbPerSec(), last.note())
                    : (last.usable() ? "" : "unusable: ") + last.note()));
        }
        return choose(results, forced, t);
    }

    private static Result measure(BackendProvider provider, GgufTensor t, BackendOptions options, long budgetNanos) {
        String id = provider.id();
        try (Backend b = provider.create(options)) {
            Weight w = b.weight(t);
            Activations x = b.allocate(t.cols());
            Activations out = b.allocate(t.rows());
            float[] ones = new float[t.cols()];
            java.util.Arrays.fill(ones, 0.5f);
            b.write(ones, 0, x, 0, ones.length);
            float[] sink = new float[1];
            b.matmul(w, x, out, 1); // warm-up (JIT, device upload)
            b.read(out, 0, sink, 0, 1);
            long start = System.nanoTime();
            int ops = 0;
            do {
                b.matmul(w, x, out, 1);
                ops++;
            } while (System.nanoTime() - start < budgetNanos && ops < 100_000);
            b.read(out, 0, sink, 0, 1); // a device backend finishes its queue here
            double ns = (System.nanoTime() - start) / (double) ops;
            return new Result(id, true, ns, t.byteSize() / ns, String.format(Locale.ROOT, "%d x %s matvec %s", ops, t.type(), t.shape()));
        } catch (RuntimeException | LinkageError e) {
            return new Result(id, false, Double.NaN, 0, "calibration failed: " + e);
        }
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
        Result best = results.stream().filter(r -> r.usable() && !Double.isNaN(r.nanosPerOp()))
                .min(Comparator.comparingDouble(Result::nanosPerOp))
                .orElseThrow(() -> new IllegalStateException("no backend could run " + t.name()));
        String reason = String.format(Locale.ROOT, "fastest measured: %.1f us per %s matvec", best.nanosPerOp() / 1e3, t.name());
        return new Outcome(results, best.backend(), reason);
    }
}
