package dev.edgellm.service.engine;

import dev.edgellm.chat.ModelChatTemplates;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.BackendProvider;
import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.backend.Calibration;
import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.core.fit.MemoryFit;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.system.SystemInfo;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.system.MemoryMonitor;
import dev.edgellm.service.system.VectorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The engine's startup, in order: probe the machine (CPU, SIMD, memory, container limit) and every
 * backend plugin; judge the memory fit of the model from its GGUF header (no weight read) and cap
 * the context to what fits; calibrate the usable backends on the model's own weights and take the
 * fastest (or the forced one); load the model and allocate its session. Everything is logged, and
 * the outcome is a {@link StartupReport}; a model that is missing, does not fit or cannot be read
 * ends startup with the reason in the report instead of an exception.
 */
public final class EngineStartup {
    private static final Logger LOG = Logger.getLogger(EngineService.class);

    /** What startup hands the engine thread: the report and, when a model was loaded, the model. */
    public record Result(StartupReport report, Loaded loaded) {}

    /** A loaded model with its backend and session; the engine thread owns it from here on. */
    public record Loaded(Backend backend, LanguageModel model, Session session, ChatTemplate chatTemplate) implements AutoCloseable {
        @Override
        public void close() {
            closeAll(session, model, backend);
        }
    }

    private final EdgeLlmConfig config;
    private final MemoryMonitor memory;

    public EngineStartup(EdgeLlmConfig config, MemoryMonitor memory) {
        this.config = config;
        this.memory = memory;
    }

    /**
     * Runs the startup on the calling thread.
     *
     * @param phase told what startup is doing, in words, as it goes ("calibrating the backends")
     */
    public Result run(Consumer<String> phase) {
        long t0 = System.nanoTime();
        Path path = Path.of(config.model().path()).toAbsolutePath().normalize();
        Found f = new Found(path);
        Backend backend = null;
        LanguageModel model = null;
        Session session = null;
        try {
            phase.accept("probing the hardware");
            probe(f);
            if (!Files.isRegularFile(path)) {
                return failed(f, "model file " + path + " not found (set edgellm.model.path or EDGELLM_MODEL_PATH)", null);
            }
            f.threads = config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors();
            BackendOptions options = new BackendOptions(f.threads);
            String forced = config.backend().isBlank() || config.backend().trim().equalsIgnoreCase("auto") ? null : config.backend().trim();
            int ctx;
            try (GgufFile file = GgufFile.open(path)) {
                phase.accept("judging the memory fit");
                ctx = fit(f, file);
                if (ctx == 0) {
                    return failed(f, "the model does not fit the memory limit: " + f.verdict.summary(), null);
                }
                phase.accept(forced == null ? "calibrating the backends" : "using backend " + forced);
                f.calibration = Calibration.run(file, f.backends, options, config.calibration().budget().toNanos(), forced, line -> LOG.info(line));
                LOG.infof("backend chosen: %s (%s)", f.calibration.chosen(), f.calibration.reason());
            }
            BackendProvider provider = f.backends.stream().filter(c -> c.provider().id().equals(f.calibration.chosen())).findFirst()
                    .orElseThrow().provider();
            phase.accept("loading " + path.getFileName() + " on " + provider.id());
            backend = Backends.create(provider, options);
            model = LanguageModel.load(path, backend);
            session = model.newSession(ctx, Math.max(1, config.batch()));
            f.context = session.contextLength();
            ModelChatTemplates.Resolution chat = ModelChatTemplates.resolve(model.file().metadata(), model.tokenizer());
            f.chatWarning = chat.warning();
            f.chatProblem = chat.problem() == null ? null : chat.problem() + " (use /v1/completions)";
            f.chatDescription = chat.template() == null ? null : chat.template().description();
            if (chat.warning() != null) {
                LOG.warnf("chat template: %s", chat.warning());
            }
            LOG.infof("chat template: %s", chat.template() != null ? chat.template().description() : "none: " + chat.problem());
            f.loadMillis = (System.nanoTime() - t0) / 1_000_000;
            LOG.infof("loaded %s (%s, %d layers, vocab %d) on %s with %d threads, context %d tokens, batch %d in %d ms", path.getFileName(),
                    model.config().architecture(), model.config().layers(), model.config().vocabSize(), provider.id(), f.threads, f.context,
                    session.maxBatch(), f.loadMillis);
            return new Result(f.report(null), new Loaded(backend, model, session, chat.template()));
        } catch (IOException | RuntimeException | Error e) {
            closeAll(session, model, backend);
            return failed(f, describe(e), e);
        }
    }

    /** What startup found so far. */
    private static final class Found {
        final Path path;
        SystemInfo system;
        String species;
        List<Backends.Candidate> backends = List.of();
        FitBasis basis;
        FitVerdict verdict;
        int requested;
        int context;
        int threads;
        Calibration.Outcome calibration;
        String chatDescription;
        String chatWarning;
        String chatProblem;
        long loadMillis;

        Found(Path path) {
            this.path = path;
        }

        StartupReport report(String failure) {
            return new StartupReport(path, system, species, backends, basis, verdict, requested, context, threads, calibration, chatDescription,
                    chatWarning, chatProblem, loadMillis, failure);
        }
    }

    private void probe(Found f) {
        SystemInfo sys = memory.refresh();
        f.system = sys;
        f.species = VectorInfo.describe();
        LOG.infof("system: %s, %d cores, SIMD %s (flags %s), Vector API preferred species %s", sys.cpuModel(), sys.cores(), sys.simd(),
                String.join(" ", sys.cpuFlags()), f.species);
        LOG.infof("memory: total %s, available %s, container %s; budget %s (%s)", mib(sys.memTotal()), mib(sys.memAvailable()),
                sys.cgroupVersion() == 0 ? "none" : "cgroup v" + sys.cgroupVersion() + " limit " + (sys.cgroupLimit() > 0 ? mib(sys.cgroupLimit()) : "none")
                        + ", usage " + mib(sys.cgroupUsage()),
                mib(memory.budgetBytes()), memory.budgetSource());
        f.backends = Backends.probeAll();
        for (Backends.Candidate c : f.backends) {
            LOG.infof("backend %s: %s: %s", c.provider().id(), c.probe().usable() ? "usable" : "unusable", c.probe().summary());
        }
    }

    /** Judges the memory fit; returns the context to allocate, 0 when the model does not fit at all. */
    private int fit(Found f, GgufFile file) throws IOException {
        ModelConfig mc = ModelConfig.fromGguf(file);
        f.basis = new FitBasis(f.path, mc, MemoryFit.weightsByType(file), Math.max(1, config.batch()), config.memory().runtimeOverhead().asLongValue(),
                memory.budgetBytes(), memory.budgetSource());
        f.requested = Math.max(1, Math.min(config.context(), mc.contextLength()));
        f.verdict = f.basis.judge(f.requested);
        LOG.infof("memory fit of %s: %s", f.path.getFileName(), f.verdict.summary());
        if (!f.verdict.fits()) {
            return 0;
        }
        int ctx = f.verdict.status() == FitVerdict.Status.FITS ? f.requested : f.verdict.maxContext();
        if (ctx < f.requested) {
            LOG.warnf("context capped at %d tokens (%d requested) to fit the memory limit", ctx, f.requested);
        }
        return ctx;
    }

    private static Result failed(Found f, String reason, Throwable cause) {
        // An expected failure (missing file, no fit, bad file) is one line; the stack trace only at debug.
        LOG.errorf("not serving: %s", reason);
        if (cause != null) {
            LOG.debug("model load failure", cause);
        }
        return new Result(f.report(reason), null);
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return (e instanceof IOException ? "cannot read the model: " : "cannot load the model: ")
                + (m == null || m.isBlank() ? e.getClass().getSimpleName() : m);
    }

    private static void closeAll(Session session, LanguageModel model, Backend backend) {
        if (session != null) {
            session.close();
        }
        if (model != null) {
            model.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    static String mib(long bytes) {
        return bytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
