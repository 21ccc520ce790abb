package dev.edgellm.service.engine;

import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.backend.Calibration;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.system.SystemInfo;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.summary.SummaryPrompt;
import dev.edgellm.service.system.MemoryMonitor;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * The one engine: a single thread owns the model, the backend and a reused session (backends are
 * not thread-safe); a bounded queue of jobs sits in front of it. Every intake (the REST API, MQTT)
 * submits {@link GenerationJob}s here and gets a {@link JobHandle} back.
 *
 * <p>At startup the thread runs the {@link EngineStartup} (probe, fit, calibrate, load) without
 * holding up the HTTP server: health checks answer meanwhile. A model that is missing or does not
 * fit leaves the service running with {@link Phase#FAILED} and the reason, instead of crashing or
 * being OOM-killed; {@link #startupReport()} says what startup found either way.
 *
 * <p>Backpressure: {@link #tryReserve()} takes one of the {@code edgellm.queue.size} waiting
 * places or says there is none; {@link #submit} does both and throws {@link QueueFullException}.
 *
 * <p>Priority: the queue hands out every waiting interactive job (REST, MQTT requests) before any
 * background job (watch summaries, {@link #submitBackground}), each kind in arrival order. Background
 * jobs take none of the interactive places: at most {@code edgellm.queue.size} of them wait besides,
 * and one not started by its {@link GenerationJob#startBy()} fails with {@link QueueFullException}.
 */
@ApplicationScoped
public class EngineService {
    private static final Logger LOG = Logger.getLogger(EngineService.class);

    /** Where the engine is in its life. */
    public enum Phase {
        STARTING, LOADING, READY, FAILED, STOPPED
    }

    /** Phase and the reason in words. */
    public record Status(Phase phase, String reason) {
        public boolean ready() {
            return phase == Phase.READY;
        }
    }

    @Inject
    EdgeLlmConfig config;
    @Inject
    MemoryMonitor memory;
    @Inject
    JobListener metrics;

    /** Highest priority first, then arrival order; the poison pill before everything. */
    private final PriorityBlockingQueue<Job> queue = new PriorityBlockingQueue<>(16,
            Comparator.comparingInt((Job j) -> j.rank).thenComparingLong(j -> j.seq));
    private final AtomicLong arrivals = new AtomicLong();
    private final Job poison = new Job("stop", null, -1, false);
    private final AtomicInteger backgroundWaiting = new AtomicInteger();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong timedOut = new AtomicLong();
    /**
     * One prompt is tokenized at a time (fairly, in arrival order): every queue place tokenizing at
     * once multiplied the tokenizer's working memory by the queue size.
     */
    private final ReentrantLock tokenizing = new ReentrantLock(true);
    private Semaphore slots;
    private volatile Thread thread;
    private volatile boolean running;

    private volatile Status status = new Status(Phase.STARTING, "starting");
    /** What startup found and chose; its parts are null until known. */
    private volatile StartupReport report;
    private volatile ChatTemplate chatTemplate;
    private volatile LanguageModel published;
    private volatile Duration readyAfter;
    private volatile Instant readyAt;

    // Owned by the engine thread.
    private EngineStartup.Loaded loaded;

    // Progress, for the watchdog.
    private volatile Job current;
    private volatile long lastProgressNanos = System.nanoTime();
    private volatile String lastFailure;
    private volatile long lastFailureNanos;
    /** How long a failed job marks the backend unhealthy (readiness DOWN), unless a later job succeeds. */
    static final Duration FAILURE_QUARANTINE = Duration.ofSeconds(30);

    void onStart(@Observes StartupEvent event) {
        slots = new Semaphore(Math.max(0, config.queue().size()));
        running = true;
        thread = Thread.ofPlatform().name("edgellm-engine").daemon(true).start(this::run);
    }

    void onStop(@Observes ShutdownEvent event) {
        running = false;
        Job j = current;
        if (j != null) {
            j.cancel();
        }
        queue.add(poison);
        Thread t = thread;
        if (t != null) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        status = new Status(Phase.STOPPED, "stopped");
    }

    // ---- submission ----------------------------------------------------------------------------

    /** A place in the queue, taken by {@link #tryReserve()}; submit a job with it or close it. */
    public final class Reservation implements AutoCloseable {
        private final AtomicBoolean used = new AtomicBoolean();

        private Reservation() {}

        /** Queues the job in the reserved place. */
        public JobHandle submit(GenerationJob job) {
            if (!used.compareAndSet(false, true)) {
                throw new IllegalStateException("this reservation was already used");
            }
            if (!running || !status.ready()) {
                slots.release();
                throw unavailable();
            }
            Job j = new Job("gen-" + ids.incrementAndGet(), job, arrivals.incrementAndGet(), true);
            queue.add(j);
            return j;
        }

        /** Gives the place back if it was not used. */
        @Override
        public void close() {
            if (used.compareAndSet(false, true)) {
                slots.release();
            }
        }
    }

    /**
     * Takes a place in the queue, or empty when the queue is full (the backpressure signal).
     *
     * @throws EngineUnavailableException when no model is loaded
     */
    public Optional<Reservation> tryReserve() {
        requireReady();
        return slots.tryAcquire() ? Optional.of(new Reservation()) : Optional.empty();
    }

    /**
     * Waits up to {@code wait} for a place in the queue; empty when none came free (an intake that
     * can hold its requests, such as MQTT, waits like this instead of refusing them).
     *
     * @throws EngineUnavailableException when no model is loaded
     * @throws InterruptedException       when the waiting thread is interrupted
     */
    public Optional<Reservation> reserve(Duration wait) throws InterruptedException {
        requireReady();
        return slots.tryAcquire(wait.toNanos(), TimeUnit.NANOSECONDS) ? Optional.of(new Reservation()) : Optional.empty();
    }

    /**
     * Queues a job.
     *
     * @throws QueueFullException         when {@code edgellm.queue.size} jobs are already waiting
     * @throws EngineUnavailableException when no model is loaded
     */
    public JobHandle submit(GenerationJob job) {
        Reservation r = tryReserve().orElseThrow(() -> new QueueFullException(queueCapacity(), retryAfter()));
        return r.submit(job);
    }

    /**
     * Queues a background job: it runs after every interactive job waiting, takes none of their
     * places, and fails with {@link QueueFullException} when it has not started by its
     * {@link GenerationJob#startBy()} (or at once when {@code edgellm.queue.size} background jobs
     * already wait).
     *
     * @throws EngineUnavailableException when no model is loaded
     */
    public JobHandle submitBackground(GenerationJob job) {
        requireReady();
        if (backgroundWaiting.incrementAndGet() > Math.max(1, queueCapacity())) {
            backgroundWaiting.decrementAndGet();
            throw new QueueFullException(queueCapacity(), retryAfter());
        }
        Job j = new Job("bg-" + ids.incrementAndGet(), job, arrivals.incrementAndGet(), false);
        queue.add(j);
        return j;
    }

    /** Throws {@link EngineUnavailableException} unless a model is loaded and serving. */
    public void requireReady() {
        if (!status.ready() || !running) {
            throw unavailable();
        }
    }

    private EngineUnavailableException unavailable() {
        Status s = status;
        String why = switch (s.phase()) {
            case STARTING, LOADING -> "the model is still loading (" + s.reason() + ")";
            case FAILED -> "no model is loaded: " + s.reason();
            case STOPPED -> "the service is shutting down";
            case READY -> "the engine is not running";
        };
        return new EngineUnavailableException(why, retryAfter());
    }

    public Duration retryAfter() {
        return config.queue().retryAfter();
    }

    // ---- prompts ---------------------------------------------------------------------------------

    /**
     * Renders chat messages with the model's template and tokenizes them (BOS per the model,
     * special tokens of the template parsed).
     *
     * @throws IllegalArgumentException when the model has no chat template or a message is misplaced
     */
    public int[] tokenizeChat(List<ChatMessage> messages) {
        LanguageModel m = loaded();
        ChatTemplate t = chatTemplate;
        if (t == null) {
            throw new IllegalArgumentException(report.chatTemplateProblem());
        }
        tokenizing.lock();
        try {
            return m.tokenizer().encode(t.render(messages, true), true, true);
        } finally {
            tokenizing.unlock();
        }
    }

    /**
     * The chat prompt of a summarization job (see {@link SummaryPrompt}), trimmed to
     * {@code maxPromptTokens}.
     *
     * @throws IllegalArgumentException when the model has no chat template, there is nothing to
     *                                  summarize, or not even a trimmed input fits
     */
    public SummaryPrompt.Built summaryPrompt(String instructions, String text, List<Map<String, Object>> records, int maxPromptTokens) {
        LanguageModel m = loaded();
        ChatTemplate t = chatTemplate;
        if (t == null) {
            throw new IllegalArgumentException(report.chatTemplateProblem());
        }
        tokenizing.lock();
        try {
            return SummaryPrompt.build(m.tokenizer(), t, instructions, text, records, maxPromptTokens);
        } finally {
            tokenizing.unlock();
        }
    }

    /** Tokenizes a plain prompt (BOS per the model; special tokens written as text are parsed, as llama.cpp does). */
    public int[] tokenize(String text) {
        LanguageModel m = loaded();
        tokenizing.lock();
        try {
            return m.tokenizer().encode(text, true, true);
        } finally {
            tokenizing.unlock();
        }
    }

    /** The loaded model's vocabulary size (0 when none is loaded). */
    public int vocabSize() {
        LanguageModel m = published;
        return m == null ? 0 : m.config().vocabSize();
    }

    /** Whether {@code id} is a token of the loaded model. */
    public boolean validToken(int id) {
        return id >= 0 && id < loaded().tokenizer().vocabSize();
    }

    private LanguageModel loaded() {
        requireReady();
        return published;
    }

    // ---- the engine thread -----------------------------------------------------------------------

    /**
     * Runs a throw-away prompt of {@code tokens} tokens twice, then a few generated tokens, through
     * {@code session}: a JIT-compiled backend's prompt-path kernels would otherwise compile during
     * the first request (measured on the 1B Q4_0 shape: 4.9 s to its first token against 2.1-2.3 s
     * for the next ones). A failure here is logged and left to the first request to meet.
     */
    private void warmUp(Session session, int tokens) {
        int n = Math.min(tokens, session.contextLength() / 2);
        if (n < 1) {
            return;
        }
        long t0 = System.nanoTime();
        try {
            int[] prompt = new int[n];
            int vocab = session.model().config().vocabSize();
            for (int i = 0; i < n; i++) {
                prompt[i] = 3 + i % Math.max(1, Math.min(vocab, 1000) - 3);
            }
            for (int round = 0; round < 2; round++) {
                session.reset();
                session.ingest(prompt);
            }
            for (int i = 0; i < 4 && session.position() < session.contextLength(); i++) {
                session.next(prompt[i]);
            }
            LOG.infof("warm-up: %d-token prompt twice and 4 tokens in %d ms", n, (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
            LOG.warnf(e, "warm-up failed after %d ms; serving anyway", (System.nanoTime() - t0) / 1_000_000);
        } finally {
            session.reset();
        }
    }

    private void run() {
        EngineStartup.Result r = new EngineStartup(config, memory).run(phase -> status = new Status(Phase.LOADING, phase));
        report = r.report();
        if (r.loaded() == null) {
            status = new Status(Phase.FAILED, r.report().failure());
            return;
        }
        loaded = r.loaded();
        chatTemplate = loaded.chatTemplate();
        status = new Status(Phase.LOADING, "warming up");
        warmUp(loaded.session(), config.calibration().warmUp());
        published = loaded.model();
        readyAt = Instant.now();
        readyAfter = ProcessHandle.current().info().startInstant().map(s -> Duration.between(s, readyAt)).orElse(null);
        lastProgressNanos = System.nanoTime();
        status = new Status(Phase.READY, "serving " + r.report().modelPath().getFileName() + " on " + r.report().calibration().chosen());
        LOG.infof("ready: %s on %s, context %d tokens%s", r.report().modelPath().getFileName(), r.report().calibration().chosen(),
                r.report().context(), readyAfter == null ? "" : ", " + readyAfter.toMillis() + " ms after the process started");
        while (running) {
            Job job;
            try {
                job = queue.take();
            } catch (InterruptedException e) {
                break;
            }
            if (job == poison) {
                break;
            }
            if (job.holdsSlot) {
                slots.release();
            } else {
                backgroundWaiting.decrementAndGet();
            }
            execute(job);
        }
        for (Job j; (j = queue.poll()) != null; ) {
            if (j != poison) {
                j.future.completeExceptionally(new EngineFailureException("the service is shutting down", null));
            }
        }
        published = null;
        loaded.close();
        loaded = null;
    }

    private void execute(Job job) {
        long started = System.nanoTime();
        java.time.Instant startBy = job.source.startBy();
        if (startBy != null && java.time.Instant.now().isAfter(startBy)) {
            job.future.completeExceptionally(new QueueFullException(queueCapacity(), retryAfter()));
            return;
        }
        if (job.cancelRequested()) {
            GenerationOutcome o = new GenerationOutcome("", job.request.promptTokens().length, 0, FinishReason.CANCELLED,
                    started - job.enqueuedNanos, 0, 0, 0);
            cancelled.incrementAndGet();
            metrics.finished(job.intake, o);
            job.future.complete(o);
            return;
        }
        current = job;
        lastProgressNanos = started;
        GenerationRequest req = job.request;
        StopMatcher stops = new StopMatcher(req.stop());
        long deadline = started + Math.max(1, config.limits().maxRequestTime().toNanos());
        boolean[] outOfTime = new boolean[1];
        try {
            Session session = loaded.session();
            session.reset();
            Generator.Result r = Generator.generate(session, req.promptTokens(), new Generator.Options(req.maxTokens(), req.sampling(), req.stopAtEog()),
                    new Generator.Listener() {
                        @Override
                        public void onToken(int id, String text) {
                            lastProgressNanos = System.nanoTime();
                            deliver(job, stops.accept(text));
                        }

                        @Override
                        public boolean cancelled() {
                            if (System.nanoTime() - deadline > 0) {
                                outOfTime[0] = true;
                            }
                            return stops.matched() || outOfTime[0] || job.cancelRequested();
                        }

                        @Override
                        public void onPromptProgress(int done, int total) {
                            lastProgressNanos = System.nanoTime();
                        }
                    });
            deliver(job, stops.finish());
            FinishReason reason = stops.matched() ? FinishReason.STOP : switch (r.reason()) {
                case END_OF_GENERATION -> FinishReason.STOP;
                case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
                case CANCELLED -> outOfTime[0] && !job.cancelRequested() ? FinishReason.TIME_LIMIT : FinishReason.CANCELLED;
            };
            if (reason == FinishReason.TIME_LIMIT) {
                timedOut.incrementAndGet();
                LOG.warnf("%s (%s) reached edgellm.limits.max-request-time (%s) after %d prompt + %d generated tokens; answered with what it has",
                        job.id, job.intake, config.limits().maxRequestTime(), r.promptTokens(), r.tokens().length);
            }
            GenerationOutcome o = new GenerationOutcome(stops.text(), r.promptTokens(), r.tokens().length, reason, started - job.enqueuedNanos,
                    r.promptNanos(), r.firstTokenNanos(), r.decodeNanos());
            lastFailure = null;
            (reason == FinishReason.CANCELLED ? cancelled : completed).incrementAndGet();
            metrics.finished(job.intake, o);
            LOG.debugf("%s (%s): %d prompt + %d generated tokens, %s, %.1f tok/s", job.id, job.intake, o.promptTokens(), o.completionTokens(),
                    reason, o.tokensPerSecond());
            job.future.complete(o);
        } catch (RuntimeException | Error e) {
            failed.incrementAndGet();
            lastFailure = e.toString();
            lastFailureNanos = System.nanoTime();
            // The details go to the log under the job id; the client gets the id, never the exception text.
            LOG.errorf(e, "%s (%s) failed", job.id, job.intake);
            metrics.failed(job.intake);
            job.future.completeExceptionally(new EngineFailureException("generation failed inside the engine (request " + job.id
                    + "; the server log has the details)", null));
            if (e instanceof VirtualMachineError vme) {
                throw vme; // out of memory and the like: the JVM exits (ExitOnOutOfMemoryError), not serving in an unknown state
            }
        } finally {
            current = null;
            lastProgressNanos = System.nanoTime();
        }
    }

    private static void deliver(Job job, String text) {
        if (text.isEmpty()) {
            return;
        }
        try {
            job.sink.onText(text);
        } catch (RuntimeException e) {
            // A sink that cannot take text any more (its client is gone) ends the job.
            LOG.debugf("%s: sink failed, cancelling: %s", job.id, e);
            job.cancel();
        }
    }

    /** A queued job and its handle. */
    private static final class Job implements JobHandle {
        final String id;
        final long seq;
        final int rank;
        final boolean holdsSlot;
        final String intake;
        final GenerationRequest request;
        final TokenSink sink;
        final GenerationJob source;
        final CompletableFuture<GenerationOutcome> future = new CompletableFuture<>();
        final long enqueuedNanos = System.nanoTime();
        volatile boolean cancel;

        Job(String id, GenerationJob source, long seq, boolean holdsSlot) {
            this.id = id;
            this.seq = seq;
            this.rank = source == null ? -1 : source.priority().ordinal();
            this.holdsSlot = holdsSlot;
            this.source = source;
            this.intake = source == null ? "" : source.intake();
            this.request = source == null ? null : source.request();
            this.sink = source == null ? TokenSink.NONE : source.sink();
        }

        boolean cancelRequested() {
            if (cancel) {
                return true;
            }
            try {
                if (source.abandoned().getAsBoolean()) {
                    cancel = true;
                }
            } catch (RuntimeException e) {
                cancel = true;
            }
            return cancel;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public CompletionStage<GenerationOutcome> result() {
            return future.minimalCompletionStage();
        }

        @Override
        public void cancel() {
            cancel = true;
        }
    }

    // ---- state for health, metrics and reports ------------------------------------------------------

    public Status status() {
        return status;
    }

    /** Jobs waiting (the running one not counted). */
    public int queueDepth() {
        return queue.size();
    }

    public int queueCapacity() {
        return config.queue().size();
    }

    /** No waiting place is free: new jobs are refused. */
    public boolean saturated() {
        Semaphore s = slots;
        return s != null && s.availablePermits() == 0;
    }

    /** A job is running. */
    public boolean busy() {
        return current != null;
    }

    /** Time since the running job last made progress (prompt batch or token); zero when idle. */
    public Duration stalledFor() {
        return current == null ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - lastProgressNanos);
    }

    /** The engine thread is alive (it ends by design after a failed load or at shutdown). */
    public boolean threadAlive() {
        Thread t = thread;
        return t != null && t.isAlive();
    }

    /** The last job's failure, null when the last job went well. */
    public String lastFailure() {
        return lastFailure;
    }

    /**
     * The backend is healthy unless the last job failed less than {@link #FAILURE_QUARANTINE} ago
     * (a later successful job clears it at once).
     */
    public boolean backendHealthy() {
        return lastFailure == null || System.nanoTime() - lastFailureNanos > FAILURE_QUARANTINE.toNanos();
    }

    public long completedJobs() {
        return completed.get();
    }

    public long cancelledJobs() {
        return cancelled.get();
    }

    public long failedJobs() {
        return failed.get();
    }

    /** Jobs cut short by {@code edgellm.limits.max-request-time}. */
    public long timedOutJobs() {
        return timedOut.get();
    }

    /** What startup found and chose (every part null until startup is done). */
    public StartupReport startupReport() {
        StartupReport r = report;
        return r != null ? r : StartupReport.none(configuredModel());
    }

    private Path configuredModel() {
        return Path.of(config.model().path()).toAbsolutePath().normalize();
    }

    public Path modelPath() {
        return startupReport().modelPath();
    }

    /** The model id shown by the API: the file name without {@code .gguf}. */
    public String modelId() {
        String n = modelPath().getFileName().toString();
        return n.toLowerCase(Locale.ROOT).endsWith(".gguf") ? n.substring(0, n.length() - 5) : n;
    }

    /** The loaded model's config, null when none is loaded. */
    public ModelConfig modelConfig() {
        LanguageModel m = published;
        return m == null ? null : m.config();
    }

    /**
     * The loaded model's file (metadata and tensor table, read-only), null when none is loaded. Its
     * weights belong to the engine thread: read the header only.
     */
    public GgufFile modelFile() {
        LanguageModel m = published;
        return m == null ? null : m.file();
    }

    public boolean hasChatTemplate() {
        return chatTemplate != null;
    }

    /** The chat template in use ("tokenizer.chat_template (Jinja)", "built-in Gemma"), or null. */
    public String chatTemplateDescription() {
        return startupReport().chatTemplate();
    }

    /** Why the file's own chat template is not used (unparsable), or null. */
    public String chatTemplateWarning() {
        return startupReport().chatTemplateWarning();
    }

    public SystemInfo startupSystem() {
        return startupReport().system();
    }

    public String vectorSpecies() {
        return startupReport().vectorSpecies();
    }

    public List<Backends.Candidate> backends() {
        return startupReport().backends();
    }

    public Calibration.Outcome calibration() {
        return startupReport().calibration();
    }

    public FitBasis fitBasis() {
        return startupReport().fitBasis();
    }

    public FitVerdict verdict() {
        return startupReport().verdict();
    }

    /** The context the session was allocated for (0 until loaded). */
    public int context() {
        return startupReport().context();
    }

    public int requestedContext() {
        return startupReport().requestedContext();
    }

    public int threads() {
        return startupReport().threads();
    }

    public long loadMillis() {
        return startupReport().loadMillis();
    }

    /**
     * Whether the node can serve: a model is loaded and fits, the engine thread is alive and the
     * backend's last job did not fail recently (readiness, and when a node takes fleet work).
     */
    public boolean canServe() {
        FitVerdict v = verdict();
        return status.ready() && v != null && v.fits() && backendHealthy() && threadAlive();
    }

    /** Time from process start to ready, null until ready (or when the start time is unknown). */
    public Duration readyAfter() {
        return readyAfter;
    }

    public Instant readyAt() {
        return readyAt;
    }
}
