package dev.edgellm.service.watch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.EngineUnavailableException;
import dev.edgellm.service.engine.GenerationJob;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.engine.QueueFullException;
import dev.edgellm.service.request.RequestRules;
import dev.edgellm.service.request.SamplingFields;
import dev.edgellm.service.watch.Window.ClosedWindow;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Summarizes the closed windows of one watch, one after the other, on its own (virtual) thread:
 * the prompt within the context ({@link WindowPrompt}), a background job on the engine's queue
 * (after every interactive request), the summary message ({@link SummaryMessage}, or the watch's
 * template) published to {@code publish_to}. A window that cannot be summarized (no model, the
 * queue busy for longer than a window, too large even reduced, an engine failure) is published on
 * the node's errors topic instead; every window's outcome is counted.
 */
final class WatchSummarizer {
    private static final Logger LOG = Logger.getLogger(WatchSummarizer.class);
    static final String INTAKE = "watch";
    /** How long a window of a count-only watch may wait for the engine. */
    static final Duration COUNT_WINDOW_WAIT = Duration.ofSeconds(60);

    /** Where messages go. */
    interface Wire {
        /** Publishes until the broker has it. */
        CompletableFuture<Void> deliver(String topic, byte[] payload, boolean retain);

        String errorsTopic();

        String node();
    }

    private final CompiledWatch watch;
    private final EngineService engine;
    private final RequestRules rules;
    private final int maxPromptTokens;
    private final Wire wire;
    private final WatchMetrics metrics;
    private final ObjectMapper json;
    private final LinkedBlockingQueue<ClosedWindow> queue = new LinkedBlockingQueue<>();
    private volatile boolean running = true;
    private final Thread thread;

    WatchSummarizer(CompiledWatch watch, EngineService engine, RequestRules rules, int maxPromptTokens, Wire wire, WatchMetrics metrics, ObjectMapper json) {
        this.watch = watch;
        this.engine = engine;
        this.rules = rules;
        this.maxPromptTokens = maxPromptTokens;
        this.wire = wire;
        this.metrics = metrics;
        this.json = json;
        this.thread = Thread.ofVirtual().name("edgellm-watch-" + watch.name()).start(this::loop);
    }

    void offer(ClosedWindow w) {
        queue.add(w);
    }

    /** Stops after the window in hand (what waits is dropped: the watch moved or was removed). */
    void stop() {
        running = false;
        thread.interrupt();
    }

    private void loop() {
        while (running) {
            ClosedWindow w;
            try {
                w = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                summarize(w);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.errorf(e, "watch %s: the window %s..%s failed", watch.name(), w.start(), w.end());
                fail(w, WatchMetrics.FAILED, "the summary failed: " + e);
            }
        }
    }

    private void summarize(ClosedWindow w) throws InterruptedException {
        WatchSpec s = watch.spec();
        Duration wait = s.windowTime() != null ? s.windowTime() : COUNT_WINDOW_WAIT;
        Instant startBy = w.end().plus(wait);
        if (!engine.status().ready()) {
            fail(w, WatchMetrics.MODEL_NOT_LOADED, "no model is loaded: " + engine.status().reason());
            return;
        }
        int context = engine.context();
        int budget = Math.min(maxPromptTokens, context - s.maxTokens());
        WindowPrompt.Prepared p;
        GenerationRequest req;
        try {
            if (budget < 1) {
                throw new IllegalArgumentException("max_tokens " + s.maxTokens() + " leaves no room for a prompt in the context of " + context);
            }
            p = WindowPrompt.prepare(w, s.prompt(), budget, engine::summaryPrompt);
            RequestRules.Checked c = rules.check(new Sampling(s));
            req = rules.request(p.built().tokens(), c, context, "records");
        } catch (EngineUnavailableException e) {
            fail(w, WatchMetrics.MODEL_NOT_LOADED, e.getMessage());
            return;
        } catch (IllegalArgumentException e) {
            fail(w, WatchMetrics.TOO_LARGE, e.getMessage());
            return;
        }
        GenerationOutcome o;
        try {
            o = engine.submitBackground(GenerationJob.background(INTAKE, req, startBy)).result().toCompletableFuture()
                    .get(wait.toMillis() + engine.retryAfter().toMillis() + Duration.ofMinutes(15).toMillis(), TimeUnit.MILLISECONDS);
        } catch (EngineUnavailableException e) {
            fail(w, WatchMetrics.MODEL_NOT_LOADED, e.getMessage());
            return;
        } catch (QueueFullException e) {
            fail(w, WatchMetrics.QUEUE_FULL, "the engine's queue is full: " + e.getMessage());
            return;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof QueueFullException) {
                fail(w, WatchMetrics.QUEUE_FULL, "the engine's queue stayed busy for longer than the window (" + Durations.format(wait)
                        + "): the summary did not start by " + startBy);
            } else {
                fail(w, WatchMetrics.FAILED, String.valueOf(e.getCause() == null ? e : e.getCause().getMessage()));
            }
            return;
        } catch (java.util.concurrent.TimeoutException e) {
            fail(w, WatchMetrics.FAILED, "no summary within " + wait);
            return;
        }
        Map<String, Object> m = SummaryMessage.build(watch.name(), wire.node(), engine.modelId(), w, p.reduced(), o);
        byte[] payload = watch.template() != null ? watch.template().render(m).getBytes(StandardCharsets.UTF_8) : bytes(m);
        try {
            wire.deliver(s.publishTo(), payload, s.retain()).get();
            metrics.count(watch.name(), WatchMetrics.PUBLISHED);
            LOG.debugf("watch %s: %d records summarized to %s", watch.name(), w.total(), s.publishTo());
        } catch (ExecutionException e) {
            LOG.warnf("watch %s: the summary of %s..%s was not published: %s", watch.name(), w.start(), w.end(), e.getCause());
        }
    }

    /** Reports a window that could not be summarized on the errors topic, and counts it. */
    private void fail(ClosedWindow w, String outcome, String message) {
        metrics.count(watch.name(), outcome);
        LOG.warnf("watch %s: the window %s..%s (%d records) was not summarized: %s: %s", watch.name(), w.start(), w.end(), w.total(), outcome, message);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", null);
        m.put("status", "error");
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("code", "watch_" + outcome);
        e.put("message", message);
        m.put("error", e);
        m.put("watch", watch.name());
        m.put("node", wire.node());
        m.put("window_start", w.start().toString());
        m.put("window_end", w.end().toString());
        m.put("records", w.total());
        m.put("records_per_topic", w.stats().perTopic());
        wire.deliver(wire.errorsTopic(), bytes(m), false);
    }

    private byte[] bytes(Object o) {
        try {
            return json.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The watch's sampling settings in the request rules' terms. */
    private record Sampling(WatchSpec s) implements SamplingFields {
        @Override
        public Integer maxTokens() {
            return s.maxTokens();
        }

        @Override
        public Double temperature() {
            return s.temperature();
        }

        @Override
        public Long seed() {
            return s.seed();
        }

        @Override
        public Double topP() {
            return null;
        }

        @Override
        public Integer topK() {
            return null;
        }

        @Override
        public Double minP() {
            return null;
        }

        @Override
        public Double repeatPenalty() {
            return null;
        }

        @Override
        public Integer repeatLastN() {
            return null;
        }

        @Override
        public JsonNode stop() {
            return null;
        }
    }
}
