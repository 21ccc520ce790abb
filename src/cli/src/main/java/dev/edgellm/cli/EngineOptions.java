package dev.edgellm.cli;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.model.LanguageModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Options every engine subcommand shares: model, backend, threads, context and batch size. */
final class EngineOptions {
    static final Set<String> VALUED = Set.of("--model", "--backend", "--threads", "--ctx-size", "--batch-size");
    static final Set<String> FLAGS = Set.of("--verbose");
    static final Map<String, String> ALIASES = Map.of("-m", "--model", "-t", "--threads", "-c", "--ctx-size", "-b", "--batch-size", "-v", "--verbose");
    static final String HELP = """
              -m, --model FILE        GGUF model file
              --backend ID            force a backend plugin (default: the best available)
              -t, --threads N         compute threads (default: all cores)
              -c, --ctx-size N        context length (default: the model's, at most 8192)
              -b, --batch-size N      tokens per forward batch (default: 64)
              -v, --verbose           report backend choice and timings on stderr
            """;
    static final int DEFAULT_CONTEXT = 8192;

    /**
     * Parses an engine subcommand's arguments: the shared engine options plus the command's own
     * ({@code valued} take a value, {@code flags} do not); no positional arguments.
     */
    static Args parse(String command, String[] argv, List<String> valued, List<String> flags, Map<String, String> aliases) {
        Set<String> v = new HashSet<>(VALUED);
        v.addAll(valued);
        Set<String> f = new HashSet<>(FLAGS);
        f.addAll(flags);
        Map<String, String> a = new HashMap<>(ALIASES);
        a.putAll(aliases);
        Args args = new Args(command, argv, 1, v, f, a);
        args.positional(0, "no positional arguments");
        return args;
    }

    final Path model;
    final String backend;
    final int threads;
    final int ctx;
    final int batch;
    final boolean verbose;

    EngineOptions(Args a) {
        this.model = Path.of(a.required("--model"));
        this.backend = a.get("--backend");
        this.threads = a.getInt("--threads", Runtime.getRuntime().availableProcessors());
        this.ctx = a.getInt("--ctx-size", 0);
        this.batch = a.getInt("--batch-size", LanguageModel.DEFAULT_BATCH);
        this.verbose = a.flag("--verbose");
        if (threads < 1) {
            throw new UsageException("--threads must be at least 1, got " + threads);
        }
        if (ctx < 0 || batch < 1) {
            throw new UsageException("--ctx-size must be >= 1 and --batch-size >= 1");
        }
    }

    /** Picks the backend (forced or best) and reports the choice when verbose. */
    Backend openBackend() {
        Backends.Selection sel = Backends.select(backend);
        if (verbose) {
            for (Backends.Candidate c : sel.candidates()) {
                System.err.printf("backend %-8s %s: %s%n", c.provider().id(), c.probe().usable() ? "usable  " : "unusable", c.probe().summary());
            }
            System.err.println("backend chosen: " + sel.chosen().provider().id() + " (" + sel.reason() + "), threads " + threads);
        }
        return Backends.create(sel, new BackendOptions(threads));
    }

    /** Loads the model; a load that takes over 2 s shows a progress line on a terminal. */
    LanguageModel load(Backend b) throws IOException {
        long t0 = System.nanoTime();
        LanguageModel m;
        try (Progress p = Progress.of(System.err, "loading " + model.getFileName(), "layers", Progress.LOAD_DELAY)) {
            m = LanguageModel.load(model, b, p::update);
        }
        if (verbose) {
            System.err.printf("loaded %s in %.0f ms: %s%n", model, (System.nanoTime() - t0) / 1e6, m.config());
        }
        return m;
    }

    /** The context to use: the option, else the model's capped at {@link #DEFAULT_CONTEXT}. */
    int context(LanguageModel m) {
        return ctx > 0 ? ctx : Math.min(m.config().contextLength(), DEFAULT_CONTEXT);
    }
}
