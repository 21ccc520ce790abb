package dev.edgellm.service.mqtt;

import static dev.edgellm.service.mqtt.RequestError.CONTEXT_LENGTH_EXCEEDED;
import static dev.edgellm.service.mqtt.RequestError.DUPLICATE_ID_CONFLICT;
import static dev.edgellm.service.mqtt.RequestError.EXPIRED;
import static dev.edgellm.service.mqtt.RequestError.INVALID_REPLY_TO;
import static dev.edgellm.service.mqtt.RequestError.OVERLOADED;
import static dev.edgellm.service.mqtt.RequestError.RETAINED_REQUEST;
import static dev.edgellm.service.mqtt.RequestError.ENGINE_FAILURE;
import static dev.edgellm.service.mqtt.RequestError.INVALID_REQUEST;
import static dev.edgellm.service.mqtt.RequestError.MODEL_NOT_LOADED;
import static dev.edgellm.service.mqtt.RequestError.TOO_LARGE;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgellm.core.engine.SummaryPrompt;
import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.service.api.ApiException;
import dev.edgellm.service.api.RequestRules;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.EngineUnavailableException;
import dev.edgellm.service.engine.FinishReason;
import dev.edgellm.service.engine.GenerationJob;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.engine.JobHandle;
import dev.edgellm.service.engine.TokenSink;
import dev.edgellm.service.monitor.EngineMetrics;
import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.JksOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.PfxOptions;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttPublishMessage;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The MQTT intake. One persistent MQTT session (clean session off, a client id derived from the
 * node id) subscribes with QoS 1 to {@code <prefix>/<node>/requests} and {@code <prefix>/all/requests};
 * requests go through the engine's one bounded queue, like REST ones, and each response is
 * published with QoS 1 to the request's {@code reply_to} or {@code <prefix>/<node>/responses/<id>}.
 *
 * <p><b>Delivery.</b> The Vert.x MQTT client runs with auto-acknowledgement off: a request is
 * acknowledged (PUBACK) only once its response has been acknowledged by the broker, so a request
 * whose answer never got out (the service died, the connection dropped) is redelivered by the
 * broker. Responses are written to a {@link ResponseCache} on disk before they are published, so a
 * redelivery, or any duplicate of an {@code id} within the window, is answered from it instead of
 * generated again. A copy of a request still being answered is acknowledged with it.
 *
 * <p><b>Backpressure.</b> A single intake thread takes one request at a time and waits for a place
 * in the engine's queue before it takes the next; meanwhile requests stay unacknowledged, and the
 * broker stops sending once its in-flight window for this client is full (mosquitto:
 * {@code max_inflight_messages}, 20 by default). Nothing is refused or dropped for being busy.
 *
 * <p><b>Status.</b> A retained JSON status on {@code <prefix>/<node>/status}, every
 * {@code edgellm.mqtt.status-interval} and whenever health, phase, model or queue saturation
 * change; the last will (and a clean shutdown) sets it to {@code offline}.
 *
 * <p>Threads: the Vert.x event loop of one context owns the client (connect, subscribe, publish,
 * acknowledge); the intake thread parses, deduplicates, waits for a place and tokenizes; the
 * engine thread generates (streamed text is handed to the event loop); a reply thread caches and
 * publishes results.
 */
@ApplicationScoped
public class MqttIntake {
    private static final Logger LOG = Logger.getLogger(MqttIntake.class);
    static final String INTAKE = "mqtt";
    /**
     * Room for a PUBLISH's variable header (topic of up to 65535 bytes and packet id) above
     * {@code max-payload}: a request up to that size is still read, so it can be answered
     * {@code too_large}; anything larger is never buffered (the connection is dropped instead).
     */
    static final int HEADER_ROOM = 2 + 65_535 + 2;
    /** A connection that stays up this long ends a run of failed cycles. */
    static final Duration STABLE = Duration.ofSeconds(30);

    @Inject
    EdgeLlmConfig config;
    @Inject
    EngineService engine;
    @Inject
    RequestRules rules;
    @Inject
    ObjectMapper json;
    @Inject
    Vertx vertx;
    @Inject
    EngineMetrics metrics;
    @Inject
    HomeAssistantDiscovery discovery;
    @Inject
    dev.edgellm.service.system.MemoryMonitor memory;

    private volatile boolean running;
    private String nodeId;
    private Topics topics;
    private String clientId;
    private MqttQoS qos;
    private Path stateDir;
    private MqttRequestParser parser;
    private ReplyPolicy replyPolicy;
    private int maxMessage;
    private ResponseCache cache;
    private EmbeddedBroker broker;
    private String brokerHost;
    private int brokerPort;
    private Context ctx;
    private Thread intakeThread;
    private ExecutorService replies;

    private LinkedBlockingQueue<Incoming> inbox = new LinkedBlockingQueue<>();
    /** Packet ids of this connection received and not yet acknowledged: a resend of one is a copy. */
    private final Set<Integer> unacked = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<String, InFlight> inFlight = new ConcurrentHashMap<>();

    // Owned by the event loop (ctx).
    private MqttClient client;
    private final Map<Integer, CompletableFuture<Void>> pendingPubacks = new HashMap<>();
    private final Set<Integer> earlyPubacks = new HashSet<>();
    private boolean reconnectScheduled;
    private long backoffMillis;
    private String lastConnectProblem;

    private volatile boolean connected;
    /** Connection cycles that failed in a row (see {@code edgellm.mqtt.reconnect.down-after}). */
    private volatile int failedCycles;
    private volatile String lastProblem;
    private long connectedAtNanos;
    private final MqttMetrics mqttMetrics = new MqttMetrics();
    /** Counts connections; a request is acknowledged only on the connection it came in on. */
    private volatile int epoch;
    private volatile boolean pausedForPlace;
    private volatile String lastStatusKey = "";
    private volatile Instant connectedSince;

    /** A request as delivered, with the connection it came on and when. */
    record Incoming(MqttPublishMessage msg, int epoch, Instant receivedAt) {
        Incoming(MqttPublishMessage msg, int epoch) {
            this(msg, epoch, Instant.now());
        }

        byte[] payload() {
            return msg.payload().getBytes();
        }
    }

    /** A request being answered, and the copies of it that arrived meanwhile. */
    static final class InFlight {
        final MqttRequest request;
        final String replyTopic;
        final String hash;
        final Map<String, Object> input;
        final List<Incoming> deliveries = new ArrayList<>();
        volatile Instant deadline;
        ChunkSink sink;
        private boolean closed;

        InFlight(MqttRequest request, String replyTopic, String hash, Incoming first, Map<String, Object> input) {
            this.request = request;
            this.replyTopic = replyTopic;
            this.hash = hash;
            this.input = input;
            deliveries.add(first);
        }

        /** Adds a copy to acknowledge with the original; false when the original is already done. */
        synchronized boolean attach(Incoming in) {
            if (closed) {
                return false;
            }
            deliveries.add(in);
            return true;
        }

        /** Ends the request; returns every delivery of it. */
        synchronized List<Incoming> close() {
            closed = true;
            return List.copyOf(deliveries);
        }
    }

    // ---- life cycle ----------------------------------------------------------------------------

    void onStart(@Observes StartupEvent event) {
        EdgeLlmConfig.Mqtt m = config.mqtt();
        if (!m.enabled()) {
            LOG.info("MQTT intake disabled (edgellm.mqtt.enabled=false)");
            return;
        }
        nodeId = NodeId.resolve(config.nodeId());
        topics = new Topics(m.topicPrefix(), nodeId);
        clientId = m.clientId().filter(s -> !s.isBlank()).orElse("edgellm-" + nodeId);
        qos = switch (m.qos()) {
            case 0 -> MqttQoS.AT_MOST_ONCE;
            case 1 -> MqttQoS.AT_LEAST_ONCE;
            default -> throw new IllegalArgumentException("edgellm.mqtt.qos must be 0 or 1, got " + m.qos());
        };
        stateDir = Path.of(m.stateDir().filter(s -> !s.isBlank()).orElse(Path.of(System.getProperty("java.io.tmpdir"), "edgellm-" + nodeId).toString()));
        parser = new MqttRequestParser(json, m.maxPayload().asLongValue());
        replyPolicy = new ReplyPolicy(m.replyPrefixes().orElse(List.of(m.topicPrefix() + "/replies/")), topics);
        maxMessage = (int) Math.min(Integer.MAX_VALUE - 8, m.maxPayload().asLongValue() + HEADER_ROOM);
        inbox = new LinkedBlockingQueue<>(Math.max(1, m.inboxSize()));
        try {
            cache = ResponseCache.open(stateDir.resolve("responses"), m.dedup().window(), m.dedup().size(), Clock.systemUTC(), json);
            mqttMetrics.cacheSkipped.addAndGet(cache.skippedLines());
        } catch (IOException e) {
            LOG.warnf("cannot use %s for the response cache (%s); duplicates are recognized in memory only", stateDir, e);
            cache = ResponseCache.inMemory(m.dedup().window(), m.dedup().size(), Clock.systemUTC(), json);
        }
        if (m.host().filter(h -> !h.isBlank()).isPresent()) {
            brokerHost = m.host().get().strip();
            brokerPort = m.port();
        } else {
            int port = m.embedded().port().orElse(m.port());
            Path data = Path.of(m.embedded().dataDir().filter(s -> !s.isBlank()).orElse(stateDir.resolve("broker").toString()));
            if (!EmbeddedBroker.isLoopback(m.embedded().host()) && m.embedded().passwordFile().filter(s -> !s.isBlank()).isEmpty()) {
                throw new IllegalStateException("refusing to start the embedded MQTT broker on " + m.embedded().host()
                        + " without edgellm.mqtt.embedded.password-file: anyone on the network could publish requests and read answers");
            }
            try {
                broker = EmbeddedBroker.start(m.embedded().host(), port, data, maxMessage, m.embedded().passwordFile().filter(s -> !s.isBlank()));
                brokerHost = broker.connectHost();
                brokerPort = broker.port();
            } catch (IOException | RuntimeException e) {
                // Something else may already serve MQTT there (a broker on the gateway): use it.
                LOG.errorf("embedded MQTT broker did not start: %s; connecting to %s:%d anyway", e.getMessage(), m.embedded().host(), port);
                brokerHost = m.embedded().host().equals("0.0.0.0") ? "127.0.0.1" : m.embedded().host();
                brokerPort = port;
            }
        }
        running = true;
        replies = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("edgellm-mqtt-replies").daemon(true).unstarted(r));
        intakeThread = Thread.ofPlatform().name("edgellm-mqtt-intake").daemon(true).start(this::intakeLoop);
        ctx = vertx.getOrCreateContext();
        LOG.infof("MQTT intake: node %s, client id %s, broker %s:%d%s, requests on %s and %s, state in %s", nodeId, clientId, brokerHost,
                brokerPort, broker != null ? " (embedded)" : "", topics.requests(), topics.fleetRequests(), stateDir);
        ctx.runOnContext(v -> connect());
    }

    /** Before the engine stops: stop taking requests, mark the node offline, leave the broker. */
    void onStop(@Observes @Priority(10) ShutdownEvent event) {
        if (!running) {
            return;
        }
        running = false;
        intakeThread.interrupt();
        try {
            intakeThread.join(2000);
            publish(topics.status(), offline(), true).get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debugf("offline status not confirmed: %s", e);
        }
        CompletableFuture<Void> gone = new CompletableFuture<>();
        ctx.runOnContext(v -> {
            MqttClient c = client;
            client = null;
            connected = false;
            if (c != null && c.isConnected()) {
                c.disconnect().onComplete(ar -> gone.complete(null));
            } else {
                gone.complete(null);
            }
        });
        try {
            gone.get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debugf("disconnect not confirmed: %s", e);
        }
        replies.shutdown();
        if (broker != null) {
            broker.close();
        }
        cache.close();
    }

    // ---- connection (event loop) -----------------------------------------------------------------

    private MqttClientOptions options() {
        EdgeLlmConfig.Mqtt m = config.mqtt();
        MqttClientOptions o = new MqttClientOptions();
        o.setClientId(clientId);
        // A persistent session: the broker keeps the subscriptions and the unacknowledged requests.
        o.setCleanSession(false);
        o.setAutoAck(false);
        o.setKeepAliveInterval((int) Math.max(1, m.keepAlive().toSeconds()));
        // Nothing larger is read into memory: Netty's decoder skips it (and the connection is dropped, see onException).
        o.setMaxMessageSize(maxMessage);
        o.setMaxInflightQueue(1000);
        o.setConnectTimeout(10_000);
        o.setWillFlag(true);
        o.setWillTopic(topics.status());
        o.setWillMessageBytes(Buffer.buffer(offline()));
        o.setWillQoS(1);
        o.setWillRetain(true);
        m.username().ifPresent(o::setUsername);
        m.password().ifPresent(o::setPassword);
        EdgeLlmConfig.Tls tls = m.tls();
        if (tls.enabled()) {
            o.setSsl(true);
            tls.caFile().ifPresent(f -> o.setTrustOptions(new PemTrustOptions().addCertPath(f)));
            tls.trustStore().ifPresent(f -> {
                String pw = tls.trustStorePassword().orElse(null);
                if (f.toLowerCase(Locale.ROOT).endsWith(".jks")) {
                    o.setTrustOptions(new JksOptions().setPath(f).setPassword(pw));
                } else {
                    o.setTrustOptions(new PfxOptions().setPath(f).setPassword(pw));
                }
            });
            if (tls.certFile().isPresent() && tls.keyFile().isPresent()) {
                o.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile().get()).setKeyPath(tls.keyFile().get()));
            } else if (tls.certFile().isPresent() != tls.keyFile().isPresent()) {
                throw new IllegalStateException("edgellm.mqtt.tls.cert-file and edgellm.mqtt.tls.key-file go together; one is missing");
            }
            tls.keyStore().ifPresent(f -> {
                String pw = tls.keyStorePassword().orElse(null);
                o.setKeyCertOptions(f.toLowerCase(Locale.ROOT).endsWith(".jks") ? new JksOptions().setPath(f).setPassword(pw)
                        : new PfxOptions().setPath(f).setPassword(pw));
            });
            o.setHostnameVerificationAlgorithm(tls.verifyHost() ? "HTTPS" : "");
        }
        return o;
    }

    private void connect() {
        if (!running) {
            return;
        }
        MqttClient c = MqttClient.create(vertx, options());
        // From here on only this client's deliveries count; earlier ones are sent again by the
        // broker (same session) or are gone with the old session.
        client = c;
        epoch++;
        unacked.clear();
        pendingPubacks.values().forEach(f -> f.completeExceptionally(new IllegalStateException("the connection to the MQTT broker was lost")));
        pendingPubacks.clear();
        earlyPubacks.clear();
        c.publishHandler(msg -> onPublish(c, msg));
        c.publishCompletionHandler(pid -> onPuback(c, pid));
        c.subscribeCompletionHandler(ack -> {
            if (ack.grantedQoSLevels().stream().anyMatch(q -> q == 0x80)) {
                LOG.errorf("the broker refused a subscription to %s / %s (granted %s); check its ACL", topics.requests(), topics.fleetRequests(),
                        ack.grantedQoSLevels());
            }
        });
        c.closeHandler(v -> onClosed(c));
        c.exceptionHandler(t -> onException(c, t));
        c.connect(brokerPort, brokerHost).onComplete(ar -> {
            if (c != client) {
                return;
            }
            if (ar.failed() || ar.result().code() != MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                String why = ar.failed() ? String.valueOf(ar.cause().getMessage()) : "refused: " + ar.result().code();
                if (!why.equals(lastConnectProblem)) {
                    LOG.warnf("cannot connect to the MQTT broker %s:%d (%s); retrying with backoff", brokerHost, brokerPort, why);
                    lastConnectProblem = why;
                }
                connected = false;
                cycleFailed(why);
                scheduleReconnect();
                return;
            }
            connectedAtNanos = System.nanoTime();
            boolean sessionPresent = ar.result().isSessionPresent();
            if (sessionPresent) {
                // Requests of the old connection that were not taken yet come again on this one.
                int e = epoch;
                inbox.removeIf(i -> i.epoch() != e);
            }
            connected = true;
            connectedSince = Instant.now();
            long stableAt = connectedAtNanos;
            vertx.setTimer(STABLE.toMillis(), id -> {
                if (c == client && connected && connectedAtNanos == stableAt) {
                    failedCycles = 0;
                    lastProblem = null;
                }
            });
            backoffMillis = 0;
            lastConnectProblem = null;
            LOG.infof("connected to the MQTT broker %s:%d as %s (%s session); subscribing to %s and %s", brokerHost, brokerPort, clientId,
                    sessionPresent ? "resumed" : "new", topics.requests(), topics.fleetRequests());
            Map<String, Integer> subs = new LinkedHashMap<>();
            subs.put(topics.requests(), qos.value());
            subs.put(topics.fleetRequests(), qos.value());
            c.subscribe(subs).onFailure(t -> LOG.warnf("subscription failed: %s", t.getMessage()));
            publishStatus(true);
            discovery.onConnected(nodeId, topics, this::publish);
        });
    }

    /**
     * A message over the client's size limit leaves Netty's MQTT decoder discarding everything
     * until the connection ends (and the client never sees the packet id to acknowledge it): so
     * end the connection now. The broker will offer the message again; each such cycle counts
     * as failed, which the {@code mqtt} health check and the metrics show (see README, "Security":
     * the broker's own size limit ends the loop).
     */
    private void onException(MqttClient c, Throwable t) {
        if (c != client) {
            return;
        }
        if (t instanceof io.netty.handler.codec.TooLongFrameException) {
            mqttMetrics.oversize.incrementAndGet();
            LOG.errorf("the MQTT broker sent a message over %d bytes (edgellm.mqtt.max-payload + headers): %s; it was not read. "
                    + "Dropping the connection; limit the broker's packet size to stop it being offered again", maxMessage, t.getMessage());
            lastProblem = "a message over the size limit (" + t.getMessage() + ")";
            connected = false;
            c.disconnect();
            vertx.setTimer(2000, id -> ctx.runOnContext(v -> {
                if (c == client && c.isConnected()) {
                    c.disconnect(); // still open: the close handler reconnects
                }
            }));
            return;
        }
        LOG.debugf("MQTT connection: %s", t.toString());
    }

    private void cycleFailed(String why) {
        failedCycles++;
        mqttMetrics.failedCycles.incrementAndGet();
        lastProblem = why;
        if (failedCycles == Math.max(1, config.mqtt().reconnect().downAfter())) {
            LOG.errorf("MQTT intake: %d connection cycles failed in a row (last: %s); the mqtt health check is DOWN", failedCycles, why);
        }
    }

    private void onClosed(MqttClient c) {
        if (c != client) {
            return;
        }
        boolean wasConnected = connected;
        connected = false;
        mqttMetrics.disconnects.incrementAndGet();
        if (!wasConnected || System.nanoTime() - connectedAtNanos < STABLE.toNanos()) {
            cycleFailed(lastProblem != null ? lastProblem : "the connection was lost within " + STABLE.toSeconds() + " s");
        } else {
            failedCycles = 0;
        }
        pendingPubacks.values().forEach(f -> f.completeExceptionally(new IllegalStateException("the connection to the MQTT broker was lost")));
        pendingPubacks.clear();
        earlyPubacks.clear();
        if (running) {
            LOG.warnf("lost the connection to the MQTT broker %s:%d; reconnecting", brokerHost, brokerPort);
            scheduleReconnect();
        }
    }

    private void scheduleReconnect() {
        if (reconnectScheduled || !running) {
            return;
        }
        reconnectScheduled = true;
        long min = Math.max(10, config.mqtt().reconnect().minBackoff().toMillis());
        long max = Math.max(min, config.mqtt().reconnect().maxBackoff().toMillis());
        backoffMillis = backoffMillis == 0 ? min : Math.min(max, backoffMillis * 2);
        vertx.setTimer(backoffMillis, id -> ctx.runOnContext(v -> {
            reconnectScheduled = false;
            connect();
        }));
    }

    private void onPublish(MqttClient c, MqttPublishMessage m) {
        if (c != client) {
            return;
        }
        if (m.qosLevel() != MqttQoS.AT_MOST_ONCE && !unacked.add(m.messageId())) {
            // The broker sent a request we hold again (Moquette resends after 5 s): it is acknowledged with the first.
            LOG.debugf("packet %d on %s again: already held", m.messageId(), m.topicName());
            return;
        }
        Incoming in = new Incoming(m, epoch);
        if (!inbox.offer(in)) {
            // Full: QoS 0 floods (which the broker does not throttle) are dropped, not held in memory.
            metrics.outcome(INTAKE, EngineMetrics.DROPPED);
            if (m.qosLevel() != MqttQoS.AT_MOST_ONCE) {
                unacked.remove(m.messageId());
            }
            String[] envelope = parser.peekEnvelope(in.payload());
            if (envelope[0] != null) {
                reply(in, new RequestError(envelope[0], envelope[1], OVERLOADED, null, "this node's inbox is full ("
                        + inbox.size() + " requests, edgellm.mqtt.inbox-size); the request was dropped: send it again later, or with QoS 1"));
            } else {
                ack(in);
            }
        }
    }

    private void onPuback(MqttClient c, int packetId) {
        if (c != client) {
            return;
        }
        CompletableFuture<Void> f = pendingPubacks.remove(packetId);
        if (f != null) {
            f.complete(null);
        } else {
            earlyPubacks.add(packetId);
        }
    }

    /** Acknowledges a request to the broker, if its connection is still the current one. */
    private void ack(Incoming in) {
        if (in.msg().qosLevel() == MqttQoS.AT_MOST_ONCE) {
            return;
        }
        ctx.runOnContext(v -> {
            if (in.epoch() != epoch) {
                return; // that connection is gone: the broker sends the request again and it is answered from the cache
            }
            unacked.remove(in.msg().messageId());
            in.msg().ack();
        });
    }

    /**
     * Publishes once; completes when the broker has acknowledged it (QoS 1) or it was sent (QoS 0),
     * exceptionally when not connected or the connection drops first.
     */
    CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        ctx.runOnContext(v -> {
            MqttClient c = client;
            if (c == null || !connected) {
                f.completeExceptionally(new IllegalStateException("not connected to the MQTT broker"));
                return;
            }
            c.publish(topic, Buffer.buffer(payload), qos, false, retain).onComplete(ar -> {
                if (ar.failed()) {
                    f.completeExceptionally(ar.cause());
                } else if (qos == MqttQoS.AT_MOST_ONCE) {
                    f.complete(null);
                } else if (c != client) {
                    f.completeExceptionally(new IllegalStateException("the connection to the MQTT broker was lost"));
                } else if (earlyPubacks.remove(ar.result())) {
                    f.complete(null);
                } else {
                    pendingPubacks.put(ar.result(), f);
                }
            });
        });
        return f;
    }

    /** Publishes until the broker has it, retrying (across reconnections) while the service runs. */
    private CompletableFuture<Void> deliver(String topic, byte[] payload) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        attempt(topic, payload, done, 0);
        return done;
    }

    private void attempt(String topic, byte[] payload, CompletableFuture<Void> done, int n) {
        publish(topic, payload, false).whenComplete((v, t) -> {
            if (t == null) {
                done.complete(null);
            } else if (!running) {
                done.completeExceptionally(t);
            } else {
                if (n % 10 == 0) {
                    LOG.warnf("could not publish to %s (%s); retrying", topic, t.getMessage());
                }
                vertx.setTimer(Math.min(5000, 500L * (n + 1)), id -> attempt(topic, payload, done, n + 1));
            }
        });
    }

    // ---- requests (intake thread) ----------------------------------------------------------------

    private void intakeLoop() {
        while (running) {
            Incoming in;
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
                LOG.errorf(e, "request on %s failed", in.msg().topicName());
                reply(in, new RequestError(null, null, ENGINE_FAILURE, null, "the request failed: " + e));
            }
        }
    }

    private void handle(Incoming in) throws InterruptedException {
        MqttRequest req;
        try {
            if (in.msg().isRetain()) {
                String[] envelope = parser.peekEnvelope(in.payload());
                throw new RequestError(envelope[0], envelope[1], RETAINED_REQUEST, null, "a retained message on a request topic would run "
                        + "again on every subscription; publish requests without the retain flag (and clear the retained one)");
            }
            req = parser.parse(in.payload());
            if (req.replyTo() != null && !replyPolicy.allows(req.replyTo())) {
                throw new RequestError(req.id(), null, INVALID_REPLY_TO, "reply_to", "reply_to '" + req.replyTo() + "' is not allowed: "
                        + replyPolicy.describe() + " (edgellm.mqtt.reply-prefixes)");
            }
        } catch (RequestError e) {
            metrics.outcome(INTAKE, e.code().equals(TOO_LARGE) ? EngineMetrics.TOO_LARGE : EngineMetrics.INVALID);
            LOG.infof("rejected a request on %s (id %s): %s: %s", in.msg().topicName(), e.id(), e.code(), e.getMessage());
            reply(in, e);
            return;
        }
        String replyTopic = req.replyTo() != null ? req.replyTo() : topics.responses(req.id());
        String hash = hash(in.payload());
        while (true) {
            Optional<ResponseCache.Entry> hit = cache.get(replyTopic, req.id());
            if (hit.isPresent()) {
                if (!hit.get().requestHash().equals(hash)) {
                    conflict(in, req);
                    return;
                }
                metrics.outcome(INTAKE, EngineMetrics.DUPLICATE);
                LOG.infof("request %s again: answered from the cache of responses", req.id());
                deliver(replyTopic, hit.get().payload()).thenRun(() -> ack(in));
                return;
            }
            InFlight f = inFlight.get(key(replyTopic, req.id()));
            if (f == null) {
                break;
            }
            if (!f.hash.equals(hash)) {
                conflict(in, req);
                return;
            }
            if (f.attach(in)) {
                metrics.outcome(INTAKE, EngineMetrics.DUPLICATE);
                LOG.infof("request %s again while it is being answered: acknowledged with it", req.id());
                return;
            }
            Thread.sleep(5); // it is finishing: its response is in the cache in a moment
        }
        if (expired(in, req)) {
            return;
        }
        try {
            submit(in, req, replyTopic, hash);
        } catch (RequestError e) {
            metrics.outcome(INTAKE, EngineMetrics.INVALID);
            LOG.infof("rejected request %s: %s: %s", req.id(), e.code(), e.getMessage());
            reply(in, e);
        }
    }

    /** The same id on the same reply topic with a different payload: never another request's answer. */
    private void conflict(Incoming in, MqttRequest req) {
        metrics.outcome(INTAKE, EngineMetrics.CONFLICT);
        LOG.infof("request id %s reused on %s for a different request: duplicate_id_conflict", req.id(), req.replyTo());
        reply(in, new RequestError(req.id(), req.replyTo(), DUPLICATE_ID_CONFLICT, "id", "id '" + req.id() + "' was already used for a "
                + "different request on this reply topic within " + config.mqtt().dedup().window() + "; give every request its own id"));
    }

    /** Answers {@code expired} when the request's deadline has passed; true when it did. */
    private boolean expired(Incoming in, MqttRequest req) {
        Instant deadline = req.deadline(in.receivedAt());
        if (deadline == null || Instant.now().isBefore(deadline)) {
            return false;
        }
        metrics.outcome(INTAKE, EngineMetrics.EXPIRED);
        reply(in, new RequestError(req.id(), req.replyTo(), EXPIRED, req.expiresAt() != null ? "expires_at" : "ttl_s",
                "the request expired at " + deadline + " before it could run"));
        return true;
    }

    static String key(String replyTopic, String id) {
        return replyTopic + '\u0000' + id;
    }

    /** SHA-256 of a request payload, hex: tells a copy of a request from a different request under the same id. */
    static String hash(byte[] payload) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(payload));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void submit(Incoming in, MqttRequest req, String replyTopic, String hash) throws InterruptedException, RequestError {
        EngineService.Reservation place = admit(in, req, replyTopic);
        if (place == null) {
            return;
        }
        try (place) {
            if (expired(in, req)) {
                return; // it went stale while waiting for a place
            }
            RequestRules.Checked c = rules.check(req.sampling());
            int[] prompt;
            String param;
            Map<String, Object> input = null;
            switch (req.kind()) {
                case GENERATE -> {
                    rules.checkPromptBytes("prompt", RequestRules.utf8Length(req.prompt()));
                    prompt = engine.tokenize(req.prompt());
                    param = "prompt";
                }
                case CHAT -> {
                    rules.checkPromptBytes("messages", RequestRules.utf8Length(req.messages()));
                    try {
                        prompt = engine.tokenizeChat(req.messages());
                    } catch (IllegalArgumentException e) {
                        throw new RequestError(req.id(), req.replyTo(), INVALID_REQUEST, "messages", e.getMessage());
                    }
                    param = "messages";
                }
                case SUMMARIZE -> {
                    int context = engine.context();
                    int budget = Math.min(config.limits().maxPromptTokens(), context - c.maxTokens());
                    param = req.records().isEmpty() ? "text" : "records";
                    if (budget < 1) {
                        throw new RequestError(req.id(), req.replyTo(), CONTEXT_LENGTH_EXCEEDED, "max_tokens", "max_tokens " + c.maxTokens()
                                + " leaves no room for the input in the model's context of " + context + " tokens");
                    }
                    SummaryPrompt.Built b;
                    try {
                        b = engine.summaryPrompt(req.instructions(), req.text(), req.records(), budget);
                    } catch (IllegalArgumentException e) {
                        throw new RequestError(req.id(), req.replyTo(), CONTEXT_LENGTH_EXCEEDED, param, e.getMessage() + " (context " + context
                                + " tokens with " + c.maxTokens() + " kept for the answer; prompt limit " + config.limits().maxPromptTokens() + ")");
                    }
                    prompt = b.tokens();
                    input = new LinkedHashMap<>();
                    input.put("records_total", b.recordsTotal());
                    input.put("records_used", b.recordsUsed());
                    input.put("text_chars_total", b.textCharsTotal());
                    input.put("text_chars_used", b.textCharsUsed());
                    input.put("prompt_token_budget", budget);
                    input.put("trimmed", b.trimmed());
                    if (b.trimmed()) {
                        input.put("trimming", b.trimming());
                    }
                }
                default -> throw new IllegalStateException();
            }
            GenerationRequest gr = rules.request(prompt, c, engine.context(), param);
            InFlight f = new InFlight(req, replyTopic, hash, in, input);
            if (req.stream()) {
                f.sink = new ChunkSink(req.id(), Topics.stream(replyTopic), Math.max(1, config.mqtt().stream().chunkChars()));
            }
            inFlight.put(key(replyTopic, req.id()), f);
            Instant deadline = req.deadline(in.receivedAt());
            f.deadline = deadline;
            JobHandle h;
            try {
                h = place.submit(new GenerationJob(INTAKE, gr, f.sink, () -> !running || deadline != null && Instant.now().isAfter(deadline)));
            } catch (RuntimeException e) {
                inFlight.remove(key(replyTopic, req.id()), f);
                throw e;
            }
            LOG.debugf("request %s (%s) queued as %s: %d prompt tokens", req.id(), req.kind().wire(), h.id(), prompt.length);
            h.result().whenCompleteAsync((o, t) -> finish(f, o, t), replies);
        } catch (ApiException e) {
            throw new RequestError(req.id(), req.replyTo(), e.code() != null ? e.code() : INVALID_REQUEST, e.param(), e.getMessage());
        } catch (EngineUnavailableException e) {
            if (running) {
                metrics.outcome(INTAKE, EngineMetrics.NOT_READY);
                reply(in, new RequestError(req.id(), req.replyTo(), MODEL_NOT_LOADED, null, e.getMessage()));
            }
        }
    }

    /**
     * Waits for a place in the engine's queue (the backpressure: no further request is taken
     * meanwhile). Null when the request was answered instead (no model) or the service stops.
     */
    private EngineService.Reservation admit(Incoming in, MqttRequest req, String replyTopic) throws InterruptedException {
        boolean waited = false;
        try {
            while (running) {
                EngineService.Status s = engine.status();
                switch (s.phase()) {
                    case FAILED -> {
                        metrics.outcome(INTAKE, EngineMetrics.NOT_READY);
                        reply(in, new RequestError(req.id(), req.replyTo(), MODEL_NOT_LOADED, null, "no model is loaded: " + s.reason()));
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

    // ---- responses (reply thread) ----------------------------------------------------------------

    private void finish(InFlight f, GenerationOutcome o, Throwable t) {
        String id = f.request.id();
        if (t != null || o.finishReason() == FinishReason.CANCELLED) {
            if (!running) {
                // Stopped mid-way by a shutdown: no answer and no acknowledgement, so the broker
                // hands the request to the next start of this node.
                f.close();
                inFlight.remove(key(f.replyTopic, id), f);
                return;
            }
            if (t == null && f.deadline != null && Instant.now().isAfter(f.deadline)) {
                metrics.outcome(INTAKE, EngineMetrics.EXPIRED);
                complete(f, errorJson(id, EXPIRED, f.request.expiresAt() != null ? "expires_at" : "ttl_s",
                        "the request expired at " + f.deadline + " before its answer was done"));
                return;
            }
            Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            String why = cause == null ? "the job was cancelled" : cause.getMessage();
            byte[] err = errorJson(id, ENGINE_FAILURE, null, why);
            complete(f, err);
            return;
        }
        if (f.sink != null) {
            f.sink.flush();
        }
        byte[] body = okJson(f, o);
        // On disk before it is published: a redelivery after a crash is answered from here.
        cache.put(f.replyTopic, id, f.hash, body);
        complete(f, body);
    }

    private void complete(InFlight f, byte[] body) {
        deliver(f.replyTopic, body).whenComplete((v, e) -> {
            List<Incoming> deliveries = f.close();
            inFlight.remove(key(f.replyTopic, f.request.id()), f);
            if (e == null) {
                deliveries.forEach(this::ack);
            }
        });
    }

    /** Answers a request with an error, then acknowledges it. */
    private void reply(Incoming in, RequestError e) {
        // A request whose reply_to is unusable is not listening on the default topic either; and
        // nothing is ever published to a reply_to outside the allowed prefixes.
        boolean replyOk = e.replyTo() != null && replyPolicy.allows(e.replyTo());
        String topic = replyOk ? e.replyTo()
                : e.replyTo() == null && e.id() != null && !e.code().equals(RequestError.INVALID_REPLY_TO) ? topics.responses(e.id()) : topics.errors();
        byte[] body = errorJson(e.id(), e.code(), e.param(), e.getMessage());
        deliver(topic, body).thenRun(() -> ack(in));
    }

    private byte[] okJson(InFlight f, GenerationOutcome o) {
        ObjectNode n = json.createObjectNode();
        n.put("id", f.request.id());
        n.put("status", "ok");
        n.put("kind", f.request.kind().wire());
        n.put("text", o.text());
        n.put("finish_reason", o.finishReason().openAi());
        if (o.finishReason().truncatedBy() != null) {
            n.put("truncated_by", o.finishReason().truncatedBy());
        }
        ObjectNode usage = n.putObject("usage");
        usage.put("prompt_tokens", o.promptTokens());
        usage.put("completion_tokens", o.completionTokens());
        usage.put("total_tokens", o.totalTokens());
        ObjectNode timings = n.putObject("timings");
        double promptMs = o.promptNanos() / 1e6;
        timings.put("queue_ms", round(o.queueNanos() / 1e6));
        timings.put("prompt_ms", round(promptMs));
        timings.put("prompt_tokens_per_second", round(promptMs > 0 ? o.promptTokens() * 1000 / promptMs : 0));
        timings.put("time_to_first_token_ms", round(o.firstTokenNanos() / 1e6));
        timings.put("decode_ms", round(o.decodeNanos() / 1e6));
        timings.put("tokens_per_second", round(o.tokensPerSecond()));
        n.put("model", engine.modelId());
        n.put("node", nodeId);
        if (f.sink != null) {
            n.put("chunks", f.sink.chunks());
        }
        if (f.input != null) {
            n.set("input", json.valueToTree(f.input));
        }
        return bytes(n);
    }

    private byte[] errorJson(String id, String code, String param, String message) {
        ObjectNode n = json.createObjectNode();
        if (id != null) {
            n.put("id", id);
        } else {
            n.putNull("id");
        }
        n.put("status", "error");
        ObjectNode e = n.putObject("error");
        e.put("code", code);
        e.put("message", message);
        if (param != null) {
            e.put("param", param);
        }
        n.put("model", engine.modelId());
        n.put("node", nodeId);
        return bytes(n);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private byte[] bytes(Object o) {
        try {
            return json.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Collects streamed text (engine thread) and publishes it in chunks, in order, on {@code <reply>/stream}. */
    final class ChunkSink implements TokenSink {
        private final String id;
        private final String topic;
        private final int minChars;
        private final StringBuilder pending = new StringBuilder();
        private int seq;

        ChunkSink(String id, String topic, int minChars) {
            this.id = id;
            this.topic = topic;
            this.minChars = minChars;
        }

        @Override
        public synchronized void onText(String delta) {
            pending.append(delta);
            if (pending.length() >= minChars) {
                emit();
            }
        }

        synchronized void flush() {
            if (!pending.isEmpty()) {
                emit();
            }
        }

        synchronized int chunks() {
            return seq;
        }

        private void emit() {
            ObjectNode n = json.createObjectNode();
            n.put("id", id);
            n.put("seq", seq++);
            n.put("text", pending.toString());
            pending.setLength(0);
            // handed to the event loop in order; a lost chunk is not resent (the final response has the whole text)
            publish(topic, bytes(n), false).exceptionally(t -> {
                LOG.debugf("stream chunk of %s not delivered: %s", id, t.getMessage());
                return null;
            });
        }
    }

    // ---- status ------------------------------------------------------------------------------------

    @Scheduled(identity = "mqtt-status", every = "${edgellm.mqtt.status-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void statusTick() {
        publishStatus(true);
    }

    @Scheduled(identity = "mqtt-status-on-change", every = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void statusWatch() {
        publishStatus(false);
    }

    /** Publishes the retained status; unless {@code always}, only when it changed in substance. */
    private void publishStatus(boolean always) {
        if (!running || !connected) {
            return;
        }
        Map<String, Object> s = status();
        String key = s.get("health") + "|" + s.get("phase") + "|" + s.get("model") + "|" + s.get("queue_saturated");
        if (!always && key.equals(lastStatusKey)) {
            return;
        }
        lastStatusKey = key;
        publish(topics.status(), bytes(s), true).exceptionally(t -> {
            LOG.debugf("status not published: %s", t.getMessage());
            return null;
        });
    }

    /** The status document published on {@code <prefix>/<node>/status}. */
    public Map<String, Object> status() {
        EngineService.Status st = engine.status();
        FitVerdict v = engine.verdict();
        boolean fits = v != null && v.fits();
        boolean saturated = engine.saturated();
        boolean healthy = dev.edgellm.service.health.EngineHealthChecks.EngineReady.ready(engine);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("node", nodeId);
        s.put("status", "online");
        s.put("health", healthy ? "UP" : "DOWN");
        s.put("phase", st.phase().name());
        s.put("reason", st.reason());
        s.put("model", st.ready() ? engine.modelId() : null);
        s.put("backend", engine.calibration() == null ? null : engine.calibration().chosen());
        s.put("context", engine.context());
        s.put("memory_fit", v == null ? null : Map.of("fits", v.fits(), "summary", v.summary()));
        s.put("queue_depth", engine.queueDepth());
        s.put("queue_capacity", engine.queueCapacity());
        s.put("queue_saturated", saturated);
        s.put("busy", engine.busy());
        s.put("tokens_per_second", round(metrics.lastTokensPerSecond()));
        s.put("jobs_completed", engine.completedJobs());
        s.put("memory_used_bytes", memory.usedBytes());
        s.put("memory_limit_bytes", memory.limitBytes());
        s.put("mqtt_waiting", inbox.size() + (pausedForPlace ? 1 : 0));
        s.put("mqtt_in_flight", inFlight.size());
        s.put("time", Instant.now().toString());
        return s;
    }

    private byte[] offline() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("node", nodeId);
        s.put("status", "offline");
        return bytes(s);
    }

    /** For {@code /api/system}: the broker, the topics and the connection. */
    public Map<String, Object> report() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("enabled", running);
        if (!running) {
            return m;
        }
        m.put("node", nodeId);
        m.put("broker", brokerHost + ":" + brokerPort);
        m.put("embedded_broker", broker != null);
        m.put("client_id", clientId);
        m.put("connected", connected);
        m.put("connected_since", connectedSince == null ? null : connectedSince.toString());
        m.put("requests", List.of(topics.requests(), topics.fleetRequests()));
        m.put("responses", topics.responses("<id>"));
        m.put("errors", topics.errors());
        m.put("status", topics.status());
        m.put("waiting", inbox.size() + (pausedForPlace ? 1 : 0));
        m.put("in_flight", inFlight.size());
        m.put("cached_responses", cache.count());
        m.put("inbox_capacity", inbox.remainingCapacity() + inbox.size());
        m.put("failed_cycles", failedCycles);
        m.put("last_problem", lastProblem);
        m.put("reply_prefixes", replyPolicy.prefixes());
        m.put("state_dir", stateDir.toString());
        return m;
    }

    public boolean connected() {
        return connected;
    }

    /** Whether the intake runs at all (enabled and started). */
    public boolean running() {
        return running;
    }

    /** Connection cycles failed in a row. */
    public int failedCycles() {
        return failedCycles;
    }

    /** What went wrong last with the connection, null when nothing did. */
    public String lastProblem() {
        return lastProblem;
    }

    /** Counters for the metrics. */
    public MqttMetrics mqttMetrics() {
        return mqttMetrics;
    }

    /** Requests waiting in the inbox. */
    public int inboxDepth() {
        return inbox.size();
    }

    public String nodeId() {
        return nodeId;
    }

    public Topics topics() {
        return topics;
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
