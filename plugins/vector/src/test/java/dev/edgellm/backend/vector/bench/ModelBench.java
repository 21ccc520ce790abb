package dev.edgellm.backend.vector.bench;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.BackendProvider;
import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.Sampler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * End-to-end speed of a backend on a model file: load time, prompt processing (a 128-token prompt
 * through {@code session.ingest}) and token generation (64 greedy {@code session.next} steps),
 * resident memory after generation, and optionally the time per op.
 *
 * <pre>
 * usage: ModelBench MODEL.gguf [--threads N] [--backend ID] [--prompt N] [--gen N] [--runs N] [--profile]
 * </pre>
 * Each run resets the session; the first run includes JIT warm-up, later runs show steady state.
 * See the module README for the command line.
 */
public final class ModelBench {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int threads = 2;
        String backendId = "vector";
        int prompt = 128;
        int gen = 64;
        int runs = 3;
        boolean profile = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--backend" -> backendId = args[++i];
                case "--prompt" -> prompt = Integer.parseInt(args[++i]);
                case "--gen" -> gen = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--profile" -> profile = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Backend raw = null;
        for (BackendProvider p : Backends.providers()) {
            if (p.id().equals(backendId)) {
                System.out.println("backend " + p.id() + ": " + p.probe().summary());
                raw = p.create(new BackendOptions(threads));
            }
        }
        if (raw == null) {
            throw new IllegalArgumentException("no backend " + backendId);
        }
        TimingBackend timing = profile ? new TimingBackend(raw) : null;
        Backend backend = profile ? timing : raw;
        long rss0 = rssKb();
        long t0 = System.nanoTime();
        try (LanguageModel m = LanguageModel.load(model, backend)) {
            double loadMs = (System.nanoTime() - t0) / 1e6;
            System.out.printf("model %s (%.1f MB), %s, threads %d%n", model.getFileName(), Files.size(model) / 1e6, m.config().name(), threads);
            System.out.printf("load: %.0f ms, RSS %d MB -> %d MB%n", loadMs, rss0 / 1024, rssKb() / 1024);
            int vocab = m.config().vocabSize();
            SplittableRandom rnd = new SplittableRandom(7);
            int[] tokens = new int[prompt];
            for (int i = 0; i < prompt; i++) {
                tokens[i] = 1 + rnd.nextInt(vocab - 1);
            }
            try (Session s = m.newSession(prompt + gen + 8, LanguageModel.DEFAULT_BATCH)) {
                for (int run = 0; run < runs; run++) {
                    s.reset();
                    if (timing != null) {
                        timing.reset();
                    }
                    long a = System.nanoTime();
                    float[] logits = s.ingest(tokens);
                    long b = System.nanoTime();
                    Map<String, long[]> ppStats = timing != null ? new java.util.TreeMap<>(timing.stats()) : null;
                    if (timing != null) {
                        timing.reset();
                    }
                    int next = Sampler.argmax(logits, vocab);
                    long c = System.nanoTime();
                    for (int i = 0; i < gen; i++) {
                        next = Sampler.argmax(s.next(next), vocab);
                    }
                    long d = System.nanoTime();
                    double pp = prompt / ((b - a) / 1e9);
                    double tg = gen / ((d - c) / 1e9);
                    System.out.printf("run %d: pp %.1f tok/s (%.0f ms for %d), tg %.2f tok/s (%.1f ms/token), last token %d%n",
                            run, pp, (b - a) / 1e6, prompt, tg, (d - c) / 1e6 / gen, next);
                    if (timing != null && run == runs - 1) {
                        print("prompt processing (" + prompt + " tokens)", ppStats, (b - a), 0);
                        long bytesPerToken = timing.weightBytes() / gen;
                        print("token generation (" + gen + " tokens)", timing.stats(), (d - c), bytesPerToken);
                        System.out.printf("decode: %.1f MB of weights per token, %.1f GB/s%n", bytesPerToken / 1e6,
                                bytesPerToken * gen / ((d - c) / 1e9) / 1e9);
                    }
                }
                System.out.printf("RSS after generation: %d MB (file %.0f MB, KV cache %.1f MB)%n", rssKb() / 1024,
                        Files.size(model) / 1e6 / 1.048576, s.kvCacheBytes() / 1048576.0);
            }
        } finally {
            backend.close();
        }
    }

    private static void print(String title, Map<String, long[]> stats, long total, long bytes) {
        System.out.println(title + ": total " + String.format("%.1f ms", total / 1e6));
        stats.entrySet().stream()
                .sorted((x, y) -> Long.compare(y.getValue()[0], x.getValue()[0]))
                .forEach(e -> System.out.printf("  %-28s %9.2f ms %5.1f%%  %6d calls%n", e.getKey(), e.getValue()[0] / 1e6,
                        100.0 * e.getValue()[0] / total, e.getValue()[1]));
    }

    /** Resident set size of this process in KB (Linux; 0 elsewhere). */
    static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (java.io.IOException e) {
            // not Linux
        }
        return 0;
    }
}
