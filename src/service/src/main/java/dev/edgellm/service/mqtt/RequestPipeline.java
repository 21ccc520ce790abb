package dev.edgellm.service.mqtt;

import static dev.edgellm.service.mqtt.RequestError.CONTEXT_LENGTH_EXCEEDED;
import static dev.edgellm.service.mqtt.RequestError.DUPLICATE_ID_CONFLICT;
import static dev.edgellm.service.mqtt.RequestError.ENGINE_FAILURE;
import static dev.edgellm.service.mqtt.RequestError.EXPIRED;
import static dev.edgellm.service.mqtt.RequestError.INVALID_REPLY_TO;
import static dev.edgellm.service.mqtt.RequestError.INVALID_REQUEST;
import static dev.edgellm.service.mqtt.RequestError.MODEL_NOT_LOADED;
import static dev.edgellm.service.mqtt.RequestError.OVERLOADED;
import static dev.edgellm.service.mqtt.RequestError.RETAINED_REQUEST;
import static dev.edgellm.service.mqtt.RequestError.TOO_LARGE;

import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.EngineUnavailableException;
import dev.edgellm.service.engine.GenerationJob;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.engine.JobHandle;
import dev.edgellm.service.monitor.EngineMetrics;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import dev.edgellm.service.request.InvalidRequestException;
import dev.edgellm.service.request.RequestRules;
import dev.edgellm.service.summary.SummaryPrompt;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The request pipeline: one intake thread takes requests from a bounded inbox in arrival order and
 * for each one refuses what is not a request (retained, not JSON, a reply_to that is not allowed),
 * recognizes copies ({@link Dedup}), answers stale work {@code expired}, waits for a place in the
 * engine's queue (the backpressure: meanwhile requests stay unacknowledged with the broker),
 * builds the prompt (tokenizing; a summary trimmed to the context left after {@code max_tokens})
 * and submits the job; {@link Replies} answers it on the reply thread.
 *
 * <p>Threads: {@link #offer} runs on the connection's event loop; everything else on the intake
 * thread, which owns the request being taken. The inbox is the hand-over between the two.
 */
final class RequestPipeline {
    private static final Logger LOG = Logger.getLogger(RequestPipeline.class);
    static final String INTAKE = "mqtt";

    private final EngineService engine;
    private final RequestRules rules;
    private final MqttRequestParser parser;
    private final ReplyPolicy policy;
    private final Dedup dedup;
    private final Replies replies;
    private final WorkPool pool;
    private final FleetLoad fleet;
    private final Consumer<String> count;
    private final Consumer<Delivery> settle;
    private final Executor replyThread;
    private final int maxPromptTokens;
    private final Duration dedupWindow;
    private final LinkedBlockingQueue<Delivery> inbox;

    private volatile boolean running;
    private volatile boolean pausedForPlace;
    /** When a drop was last logged (event loop): one line per burst, not one per request. */
    private long lastDropLog = System.nanoTime() - 20_000_000_000L;
    private Thread thread;

    RequestPipeline(EngineService engine, RequestRules rules, MqttRequestParser parser, ReplyPolicy policy, Dedup dedup, Replies replies, WorkPool pool,
                    FleetLoad fleet, Consumer<String> count, Consumer<Delivery> settle, Executor replyThread, int inboxSize, int maxPromptTokens, Duration dedupWindow) {
        this.engine = engine;
        this.rules = rules;
        this.parser = parser;
        this.policy = policy;
        this.dedup = dedup;
        this.replies = replies;
        this.pool = pool;
        this.fleet = fleet;
        this.count = count;
        this.settle = settle;
        this.replyThread = replyThread;
        this.maxPromptTokens = maxPromptTokens;
        this.dedupWindow = dedupWindow;
        this.inbox = new LinkedBlockingQueue<>(Math.max(1, inboxSize));
    }

    void start() {
        running = true;
        thread = Thread.ofPlatform().name("edgellm-mqtt-intake").daemon(true).start(this::loop);
    }

    /** Stops taking requests; a job cut short is neither answered nor acknowledged (the broker keeps it). */
    void stop() throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.interrupt();
            thread.join(2000);
        }
    }

    boolean running() {
        return running;
    }

    /**
     * A message on a request topic (event loop). It waits in the inbox; when the inbox is full
     * (only QoS 0 floods get there: the broker's in-flight window holds QoS 1 back) it is dropped
     * and answered {@code overloaded}.
     */
    void offer(Delivery d) {
        if (pool.isPool(d)) {
            pool.taken(d);
        }
        if (inbox.offer(d)) {
            return;
        }
        count.accept(EngineMetrics.DROPPED);
        long now = System.nanoTime();
        if (now - lastDropLog > 10_000_000_000L) {
            lastDropLog = now;
            LOG.warnf("the inbox is full (%d requests, edgellm.mqtt.inbox-size): dropping %s requests on %s and answering them overloaded",
                    inbox.size(), d.atMostOnce() ? "QoS 0" : "QoS 1", d.topic());
        }
        String[] envelope = parser.peekEnvelope(d.payload());
        if (envelope[0] != null) {
            replies.error(d, new RequestError(envelope[0], envelope[1], OVERLOADED, null, "this node's inbox is full (" + inbox.size()
                    + " requests, edgellm.mqtt.inbox-size); the request was dropped: send it again later, or with QoS 1"));
        } else {
            settle.accept(d);
        }
    }

    /** A new connection resumed the session: requests of the old one not taken yet come again on it. */
    void resumed(int epoch) {
        inbox.removeIf(d -> d.epoch() != epoch);
    }

    /** Requests received and not taken yet, and the one waiting for a place. */
    int waiting() {
        return inbox.size() + (pausedForPlace ? 1 : 0);
    }

    int inboxDepth() {
        return inbox.size();
    }

    int inboxCapacity() {
        return inbox.remainingCapacity() + inbox.size();
    }

    /** Nothing waiting and nothing being answered. */
    boolean idle() {
        return inbox.isEmpty() && !pausedForPlace && dedup.inFlight() == 0;
    }

    private void loop() {
        while (running) {
            Delivery in;
            try {
                in = inbox.poll(250, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (in == null) {
                continue;
            }
            try {
                handle(in);
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                LOG.errorf(e, "request on %s failed", in.topic());
                replies.error(in, new RequestError(null, null, ENGINE_FAILURE, null, "the request failed: " + e));
            }
        }
    }

    private void handle(Delivery in) throws InterruptedException {
        MqttRequest req;
        try {
            if (in.msg().isRetain()) {
                String[] envelope = parser.peekEnvelope(in.payload());
                throw new RequestError(envelope[0], envelope[1], RETAINED_REQUEST, null, "a retained message on a request topic would run "
                        + "again on every subscription; publish requests without the retain flag (and clear the retained one)");
            }
            req = parser.parse(in.payload());
            if (req.replyTo() != null && !policy.allows(req.replyTo())) {
                throw new RequestError(req.id(), null, INVALID_REPLY_TO, "reply_to", "reply_to '" + req.replyTo() + "' is not allowed: "
                        + policy.describe() + " (edgellm.mqtt.reply-prefixes)");
            }
        } catch (RequestError e) {
            count.accept(e.code().equals(TOO_LARGE) ? EngineMetrics.TOO_LARGE : EngineMetrics.INVALID);
            LOG.infof("rejected a request on %s (id %s): %s: %s", in.topic(), e.id(), e.code(), e.getMessage());
            replies.error(in, e);
            return;
        }
        String replyTopic = replies.replyTopic(req.id(), req.replyTo());
        String hash = Dedup.hash(in.payload());
        switch (dedup.check(replyTopic, req.id(), hash, in)) {
            case Dedup.Cached c -> {
                count.accept(EngineMetrics.DUPLICATE);
                LOG.infof("request %s again: answered from the cache of responses", req.id());
                replies.again(in, replyTopic, c.payload());
                return;
            }
            case Dedup.Attached a -> {
                count.accept(EngineMetrics.DUPLICATE);
                LOG.infof("request %s again while it is being answered: acknowledged with it", req.id());
                return;
            }
            case Dedup.Conflict c -> {
                count.accept(EngineMetrics.CONFLICT);
                LOG.infof("request id %s reused on %s for a different request: duplicate_id_conflict", req.id(), replyTopic);
                replies.error(in, new RequestError(req.id(), req.replyTo(), DUPLICATE_ID_CONFLICT, "id", "id '" + req.id() + "' was already used "
                        + "for a different request on this reply topic within " + dedupWindow + "; give every request its own id"));
                return;
            }
            case Dedup.Fresh f -> {
                // answer it
            }
        }
        if (expired(in, req)) {
            return;
        }
        if (handedBack(in, req)) {
            return;
        }
        try {
            submit(in, req, replyTopic, hash);
        } catch (RequestError e) {
            count.accept(EngineMetrics.INVALID);
            LOG.infof("rejected request %s: %s: %s", req.id(), e.code(), e.getMessage());
            replies.error(in, e);
        }
    }

    /**
     * A pool request that this node has no room for (max-inflight pool requests in the engine
     * already, or draining for shutdown) goes back to the pool when another member has room; true
     * when it did. Otherwise it waits here for a place, as any request.
     */
    private boolean handedBack(Delivery in, MqttRequest req) {
        if (!pool.isPool(in) || !(pool.busy() || pool.draining()) || !fleet.anotherHasRoom(in.topic())) {
            return false;
        }
        try {
            replies.handBack(in).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debugf("could not hand request %s back to the pool (%s); answering it here", req.id(), e.toString());
            return false;
        }
        count.accept(EngineMetrics.HANDED_BACK);
        LOG.debugf("request %s handed back to the pool: %s", req.id(), pool.draining() ? "draining" : "busy, and another member has room");
        return true;
    }

    /** Answers {@code expired} when the request's deadline has passed; true when it did. */
    private boolean expired(Delivery in, MqttRequest req) {
        Instant deadline = req.deadline(in.receivedAt());
        if (deadline == null || Instant.now().isBefore(deadline)) {
            return false;
        }
        count.accept(EngineMetrics.EXPIRED);
        replies.error(in, new RequestError(req.id(), req.replyTo(), EXPIRED, req.expiresAt() != null ? "expires_at" : "ttl_s",
                "the request expired at " + deadline + " before it could run"));
        return true;
    }

    private void submit(Delivery in, MqttRequest req, String replyTopic, String hash) throws InterruptedException, RequestError {
        EngineService.Reservation place = admit(in, req);
        if (place == null) {
            return;
        }
        try (place) {
            if (expired(in, req)) {
                return; // it went stale while waiting for a place
            }
            RequestRules.Checked c = rules.check(req.sampling());
            Prompt p = prompt(req, c);
            GenerationRequest gr = rules.request(p.tokens(), c, engine.context(), p.param());
            Instant deadline = req.deadline(in.receivedAt());
            InFlight f = new InFlight(req, replyTopic, hash, in, p.input(), deadline, req.stream() ? replies.sink(req.id(), replyTopic) : null);
            dedup.begin(f);
            JobHandle h;
            try {
                h = place.submit(new GenerationJob(INTAKE, gr, f.sink, () -> !running || deadline != null && Instant.now().isAfter(deadline)));
            } catch (RuntimeException e) {
                dedup.end(f);
                throw e;
            }
            LOG.debugf("request %s (%s) queued as %s: %d prompt tokens", req.id(), req.kind().wire(), h.id(), p.tokens().length);
            boolean fromPool = pool.isPool(in);
            if (fromPool) {
                pool.started();
            }
            h.result().whenCompleteAsync((o, t) -> {
                if (fromPool) {
                    pool.finished();
                }
                replies.finish(f, o, t);
            }, replyThread);
        } catch (InvalidRequestException e) {
            throw new RequestError(req.id(), req.replyTo(), e.code() != null ? e.code() : INVALID_REQUEST, e.param(), e.getMessage());
        } catch (EngineUnavailableException e) {
            if (running) {
                count.accept(EngineMetrics.NOT_READY);
                replies.error(in, new RequestError(req.id(), req.replyTo(), MODEL_NOT_LOADED, null, e.getMessage()));
            }
        }
    }

    /** A request's prompt: its tokens, the field it came from, and for a summary what went in. */
    private record Prompt(int[] tokens, String param, Map<String, Object> input) {}

    private Prompt prompt(MqttRequest req, RequestRules.Checked c) throws RequestError {
        return switch (req.kind()) {
            case GENERATE -> {
                rules.checkPromptBytes("prompt", RequestRules.utf8Length(req.prompt()));
                yield new Prompt(engine.tokenize(req.prompt()), "prompt", null);
            }
            case CHAT -> {
                rules.checkPromptBytes("messages", RequestRules.utf8Length(req.messages()));
                try {
                    yield new Prompt(engine.tokenizeChat(req.messages()), "messages", null);
                } catch (IllegalArgumentException e) {
                    throw new RequestError(req.id(), req.replyTo(), INVALID_REQUEST, "messages", e.getMessage());
                }
            }
            case SUMMARIZE -> summary(req, c);
        };
    }

    /**
     * A summary keeps {@code max_tokens} free for the answer: the input must fit
     * {@code min(max-prompt-tokens, context - max_tokens)} tokens, trimmed to it when it does not
     * (the newest records, then the beginning of the text), and the response says what went in.
     */
    private Prompt summary(MqttRequest req, RequestRules.Checked c) throws RequestError {
        int context = engine.context();
        int budget = Math.min(maxPromptTokens, context - c.maxTokens());
        String param = req.records().isEmpty() ? "text" : "records";
        if (budget < 1) {
            throw new RequestError(req.id(), req.replyTo(), CONTEXT_LENGTH_EXCEEDED, "max_tokens", "max_tokens " + c.maxTokens()
                    + " leaves no room for the input in the model's context of " + context + " tokens");
        }
        SummaryPrompt.Built b;
        try {
            b = engine.summaryPrompt(req.instructions(), req.text(), req.records(), budget);
        } catch (IllegalArgumentException e) {
            throw new RequestError(req.id(), req.replyTo(), CONTEXT_LENGTH_EXCEEDED, param, e.getMessage() + " (context " + context
                    + " tokens with " + c.maxTokens() + " kept for the answer; prompt limit " + maxPromptTokens + ")");
        }
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("records_total", b.recordsTotal());
        input.put("records_used", b.recordsUsed());
        input.put("text_chars_total", b.textCharsTotal());
        input.put("text_chars_used", b.textCharsUsed());
        input.put("prompt_token_budget", budget);
        input.put("trimmed", b.trimmed());
        if (b.trimmed()) {
            input.put("trimming", b.trimming());
        }
        return new Prompt(b.tokens(), param, input);
    }

    /**
     * Waits for a place in the engine's queue (the backpressure: no further request is taken
     * meanwhile). Null when the request was answered instead (no model) or the service stops.
     */
    private EngineService.Reservation admit(Delivery in, MqttRequest req) throws InterruptedException {
        boolean waited = false;
        try {
            while (running) {
                EngineService.Status s = engine.status();
                switch (s.phase()) {
                    case FAILED -> {
                        count.accept(EngineMetrics.NOT_READY);
                        replies.error(in, new RequestError(req.id(), req.replyTo(), MODEL_NOT_LOADED, null, "no model is loaded: " + s.reason()));
                        return null;
                    }
                    case STOPPED -> {
                        return null;
                    }
                    case READY -> {
                        try {
                            Optional<EngineService.Reservation> r = engine.reserve(Duration.ofMillis(200));
                            if (r.isPresent()) {
                                return r.get();
                            }
                            if (!waited) {
                                waited = true;
                                pausedForPlace = true;
                                LOG.infof("the engine's queue is full (%d waiting): MQTT intake pauses; requests stay with the broker", engine.queueCapacity());
                            }
                        } catch (EngineUnavailableException e) {
                            Thread.sleep(200);
                        }
                    }
                    default -> Thread.sleep(200);
                }
            }
            return null;
        } finally {
            if (waited) {
                pausedForPlace = false;
                LOG.info("a place in the engine's queue came free: MQTT intake resumes");
            }
        }
    }
}
