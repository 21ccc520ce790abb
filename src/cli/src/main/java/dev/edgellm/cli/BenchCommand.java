package dev.edgellm.cli;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.Sampler;
import dev.edgellm.core.util.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code edgellm bench -m MODEL [-p 128] [-n 64] [-t THREADS] [-r REPEATS] [--backend ID] [--json]}:
 * prompt processing (one batched prompt) and token generation speed, as llama-bench defines them
 * (pp: a {@code p}-token prompt from an empty context; tg: {@code n} tokens generated from an
 * empty context), plus tg after the prompt (attention over {@code p} more positions): mean and
 * standard deviation over repeats after one warm-up run, plus load time, first-token latency and
 * resident memory.
 */
final class BenchCommand {
    static final String USAGE = "bench -m MODEL [-p 128] [-n 64] [-r REPEATS] [--json]   pp/tg tokens per second";

    record Stats(double mean, double sd) {
        static Stats of(double[] v) {
            double m = 0;
            for (double x : v) {
                m += x;
            }
            m /= v.length;
            double s = 0;
            for (double x : v) {
                s += (x - m) * (x - m);
            }
            return new Stats(m, v.length > 1 ? Math.sqrt(s / (v.length - 1)) : 0);
        }
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        Args a = EngineOptions.parse("bench", argv, List.of("--n-prompt", "--n-gen", "--repetitions"), List.of("--json"), Map.of("-p", "--n-prompt", "-n", "--n-gen", "-r", "--repetitions"));
        EngineOptions eo = new EngineOptions(a);
        int p = a.getInt("--n-prompt", 128);
        int n = a.getInt("--n-gen", 64);
        int reps = a.getInt("--repetitions", 3);
        if (p < 1 || n < 0 || reps < 1) {
            throw new UsageException("bench: -p must be >= 1, -n >= 0, -r >= 1");
        }
        boolean json = a.flag("--json");

        long t0 = System.nanoTime();
        try (Backend backend = eo.openBackend(); LanguageModel model = eo.load(backend)) {
            double loadMs = (System.nanoTime() - t0) / 1e6;
            int vocab = model.config().vocabSize();
            int[] prompt = new int[p];
            SplittableRandom rnd = new SplittableRandom(42);
            for (int i = 0; i < p; i++) {
                prompt[i] = 3 + rnd.nextInt(Math.max(1, Math.min(vocab, 32000) - 3));
            }
            int ctx = Math.max(eo.context(model), p + n);
            double[] pp = new double[reps];
            double[] tg = new double[reps];
            double[] tgAfter = new double[reps];
            double[] ttft = new double[reps];
            long work = (long) (reps + 1) * (p + 2L * n);
            try (Session s = model.newSession(ctx, eo.batch); Progress progress = Progress.of(err, "bench", "tokens")) {
                for (int r = -1; r < reps; r++) { // r = -1: warm-up
                    // progress between the timed phases only: nothing is added inside what is measured
                    progress.label(r < 0 ? "bench warm-up" : "bench run " + (r + 1) + "/" + reps);
                    long base = (long) (r + 1) * (p + 2L * n);
                    progress.update(base, work);
                    // tg as llama-bench measures it: n tokens generated from an empty context
                    s.reset();
                    long genStart = System.nanoTime();
                    int next = prompt[0];
                    for (int i = 0; i < n; i++) {
                        next = Sampler.argmax(s.next(next), vocab);
                    }
                    long genEnd = System.nanoTime();
                    progress.update(base + n, work);
                    // pp: one batched prompt; then n tokens after it (attention over the prompt too)
                    s.reset();
                    long start = System.nanoTime();
                    float[] logits = s.ingest(prompt);
                    next = Sampler.argmax(logits, vocab);
                    long promptDone = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        next = Sampler.argmax(s.next(next), vocab);
                    }
                    long end = System.nanoTime();
                    progress.update(base + n + p + n, work);
                    if (r >= 0) {
                        pp[r] = p * 1e9 / (promptDone - start);
                        tg[r] = n == 0 ? 0 : n * 1e9 / (genEnd - genStart);
                        tgAfter[r] = n == 0 ? 0 : n * 1e9 / (end - promptDone);
                        ttft[r] = (promptDone - start) / 1e6;
                    }
                }
            }
            Stats ppS = Stats.of(pp);
            Stats tgS = Stats.of(tg);
            Stats tgAfterS = Stats.of(tgAfter);
            Stats ttftS = Stats.of(ttft);
            long rss = rssBytes();
            if (json) {
                out.println("{\"model\":" + Json.quote(eo.model.toString())
                        + ",\"backend\":" + Json.quote(backend.id())
                        + ",\"threads\":" + backend.threads()
                        + ",\"n_prompt\":" + p + ",\"n_gen\":" + n + ",\"repetitions\":" + reps
                        + ",\"load_ms\":" + Json.number(loadMs)
                        + ",\"pp_tps\":" + Json.number(ppS.mean()) + ",\"pp_tps_sd\":" + Json.number(ppS.sd())
                        + ",\"tg_tps\":" + Json.number(tgS.mean()) + ",\"tg_tps_sd\":" + Json.number(tgS.sd())
                        + ",\"tg_after_prompt_tps\":" + Json.number(tgAfterS.mean()) + ",\"tg_after_prompt_tps_sd\":" + Json.number(tgAfterS.sd())
                        + ",\"ttft_ms\":" + Json.number(ttftS.mean())
                        + ",\"rss_bytes\":" + rss
                        + ",\"file_bytes\":" + model.file().fileSize()
                        + ",\"kv_cache_bytes\":" + kvBytes(model, ctx, eo.batch) + "}");
            } else {
                out.printf(Locale.ROOT, "model: %s (%s, %.1f MiB), backend %s, %d threads, load %.0f ms%n", eo.model, model.config().name(),
                        model.file().fileSize() / 1048576.0, backend.id(), backend.threads(), loadMs);
                out.printf(Locale.ROOT, "%-8s %10s %12s%n", "test", "t/s", "sd");
                out.printf(Locale.ROOT, "pp%-6d %10.2f %12.2f%n", p, ppS.mean(), ppS.sd());
                out.printf(Locale.ROOT, "tg%-6d %10.2f %12.2f%n", n, tgS.mean(), tgS.sd());
                out.printf(Locale.ROOT, "tg%d@pp%d %6.2f %12.2f%n", n, p, tgAfterS.mean(), tgAfterS.sd());
                out.printf(Locale.ROOT, "first token after %.1f ms (prompt of %d); resident memory %.1f MiB%n", ttftS.mean(), p, rss / 1048576.0);
            }
        }
        return 0;
    }

    private static long kvBytes(LanguageModel m, int ctx, int batch) {
        return Session.kvSpec(m.config(), Math.min(ctx, m.config().contextLength()), batch, true).byteSize();
    }

    /** VmRSS of this process, -1 where /proc is not there. */
    static long rssBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
