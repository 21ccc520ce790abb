package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.monitor.EngineMetrics;
import dev.edgellm.service.system.MemoryMonitor;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import dev.edgellm.service.request.RequestRules;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.vertx.core.Vertx;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The MQTT intake: builds its parts from the configuration, starts and stops them, and reports on
 * them. One persistent MQTT session ({@link MqttConnection}) subscribes with QoS 1 to
 * {@code <prefix>/<node>/requests}, the fleet-wide broadcast {@code <prefix>/all/requests} and,
 * while the node can serve, the work pool ({@link WorkPool}); requests go through the
 * {@link RequestPipeline} (dedup, expiry, admission to the engine's one queue shared with REST)
 * and are answered by {@link Replies}; {@link StatusPublisher} keeps the retained status.
 *
 * <p>Delivery: a request is acknowledged (PUBACK) only once its response was acknowledged by the
 * broker; responses are on disk before they are published (see {@link Dedup}), so a redelivery
 * after a crash is answered, not generated again. Backpressure: the intake waits for a queue place
 * before it takes the next request; meanwhile the broker holds the rest.
 *
 * <p>Threads: the connection's event loop (transport), the intake thread (requests), the engine
 * thread (generation, streamed chunks), the reply thread (answers), the scheduler (status). Each
 * part owns its state; this class only holds the parts.
 */
@ApplicationScoped
public class MqttIntake {
    private static final Logger LOG = Logger.getLogger(MqttIntake.class);
    static final String INTAKE = RequestPipeline.INTAKE;
    /**
     * Room for a PUBLISH's variable header (topic of up to 65535 bytes and packet id) above
     * {@code max-payload}: a request up to that size is still read, so it can be answered
     * {@code too_large}; anything larger is never buffered (the connection is dropped instead).
     */
    static final int HEADER_ROOM = 2 + 65_535 + 2;

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
    MemoryMonitor memory;

    private final MqttMetrics mqttMetrics = new MqttMetrics();
    private final List<StatusPublisher.ConnectHook> hooks = new CopyOnWriteArrayList<>();
    private final List<java.util.function.BiConsumer<String, byte[]>> statusListeners = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Supplier<Map<String, Object>>> statusFields = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Predicate<Delivery>> strays = new CopyOnWriteArrayList<>();
    private volatile boolean running;
    private volatile boolean draining;
    private String nodeId;
    private Topics topics;
    private Path stateDir;
    private ReplyPolicy replyPolicy;
    private EmbeddedBroker broker;
    private ExecutorService replyThread;
    private MqttConnection connection;
    private Dedup dedup;
    private WorkPool pool;
    private RequestPipeline pipeline;
    private StatusPublisher status;

    // ---- life cycle ----------------------------------------------------------------------------

    void onStart(@Observes StartupEvent event) {
        EdgeLlmConfig.Mqtt m = config.mqtt();
        if (!m.enabled()) {
            LOG.info("MQTT intake disabled (edgellm.mqtt.enabled=false)");
            return;
        }
        nodeId = NodeId.resolve(config.nodeId());
        topics = new Topics(m.topicPrefix(), nodeId);
        String clientId = m.clientId().filter(s -> !s.isBlank()).orElse("edgellm-" + nodeId);
        MqttQoS qos = switch (m.qos()) {
            case 0 -> MqttQoS.AT_MOST_ONCE;
            case 1 -> MqttQoS.AT_LEAST_ONCE;
            default -> throw new IllegalArgumentException("edgellm.mqtt.qos must be 0 or 1, got " + m.qos());
        };
        stateDir = Path.of(m.stateDir().filter(s -> !s.isBlank()).orElse(Path.of(System.getProperty("java.io.tmpdir"), "edgellm-" + nodeId).toString()));
        replyPolicy = new ReplyPolicy(m.replyPrefixes().orElse(List.of(m.topicPrefix() + "/replies/")), topics);
        int maxMessage = (int) Math.min(Integer.MAX_VALUE - 8, m.maxPayload().asLongValue() + HEADER_ROOM);
        ResponseCache cache;
        try {
            cache = ResponseCache.open(stateDir.resolve("responses"), m.dedup().window(), m.dedup().size(), Clock.systemUTC(), json);
            mqttMetrics.cacheSkipped.addAndGet(cache.skippedLines());
        } catch (IOException e) {
            LOG.warnf("cannot use %s for the response cache (%s); duplicates are recognized in memory only", stateDir, e);
            cache = ResponseCache.inMemory(m.dedup().window(), m.dedup().size(), Clock.systemUTC(), json);
        }
        String host;
        int port;
        if (m.host().filter(h -> !h.isBlank()).isPresent()) {
            host = m.host().get().strip();
            port = m.port();
        } else {
            int p = m.embedded().port().orElse(m.port());
            Path data = Path.of(m.embedded().dataDir().filter(s -> !s.isBlank()).orElse(stateDir.resolve("broker").toString()));
            if (!EmbeddedBroker.isLoopback(m.embedded().host()) && m.embedded().passwordFile().filter(s -> !s.isBlank()).isEmpty()) {
                throw new IllegalStateException("refusing to start the embedded MQTT broker on " + m.embedded().host()
                        + " without edgellm.mqtt.embedded.password-file: anyone on the network could publish requests and read answers");
            }
            try {
                broker = EmbeddedBroker.start(m.embedded().host(), p, data, maxMessage, m.embedded().passwordFile().filter(s -> !s.isBlank()));
                host = broker.connectHost();
                port = broker.port();
            } catch (IOException | RuntimeException e) {
                // Something else may already serve MQTT there (a broker on the gateway): use it.
                LOG.errorf("embedded MQTT broker did not start: %s; connecting to %s:%d anyway", e.getMessage(), m.embedded().host(), p);
                host = m.embedded().host().equals("0.0.0.0") ? "127.0.0.1" : m.embedded().host();
                port = p;
            }
        }
        connection = new MqttConnection(vertx, ClientOptions.of(m, clientId, maxMessage, topics.status(), StatusPublisher.will(json, nodeId)),
                new MqttConnection.Settings(host, port, qos, m.reconnect().minBackoff(), m.reconnect().maxBackoff(), m.reconnect().downAfter(), maxMessage,
                        m.oversizeSessionReset()),
                mqttMetrics);
        replyThread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("edgellm-mqtt-replies").daemon(true).unstarted(r));
        dedup = new Dedup(cache);
        Replies replies = new Replies(json, new Replies.Wire() {
            @Override
            public java.util.concurrent.CompletableFuture<Void> deliver(String topic, byte[] payload) {
                return connection.deliver(topic, payload);
            }

            @Override
            public java.util.concurrent.CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain) {
                return connection.publish(topic, payload, retain);
            }
        }, topics, replyPolicy, engine::modelId, dedup, this::settle, o -> metrics.outcome(INTAKE, o), () -> running, m.stream().chunkChars());
        String group = m.poolGroup().map(String::strip).filter(g -> !g.equalsIgnoreCase("none")).orElse("");
        pool = new WorkPool(connection, topics, group, broker == null, m.maxInflight(), qos.value(), engine::canServe, engine::modelId,
                stateDir.resolve(WorkPool.FILE), d -> pipeline.offer(d));
        FleetLoad fleet = new FleetLoad(json, topics, group, m.statusInterval().multipliedBy(5).plusSeconds(5), Clock.systemUTC());
        pipeline = new RequestPipeline(engine, rules, new MqttRequestParser(json, m.maxPayload().asLongValue()), replyPolicy, dedup, replies, pool,
                fleet, o -> metrics.outcome(INTAKE, o), this::settle, replyThread, m.inboxSize(), config.limits().maxPromptTokens(), m.dedup().window());
        // an earlier run's subscription still in the session: its messages are requests too, unless another feature claims them
        connection.fallback(d -> {
            for (java.util.function.Predicate<Delivery> p : strays) {
                if (p.test(d)) {
                    return;
                }
            }
            pipeline.offer(d);
        });
        connection.subscribe(topics.requests(), qos.value(), pipeline::offer);
        connection.subscribe(topics.fleetRequests(), qos.value(), pipeline::offer);
        if (pool.enabled() && broker == null) {
            onStatus(fleet::onStatus); // the other members' load: who has room for handed-back work
        }
        connection.onConnect(sessionPresent -> {
            if (sessionPresent) {
                pipeline.resumed(connection.epoch());
            }
            pool.connected();
        });
        // after the intake's own listener: the status published on connect already says whether the node joined the pool
        status = new StatusPublisher(json, engine, metrics, topics, connection, this::intakeStatus, hooks);
        // Home Assistant discovery: retained sensor configs bound to the status topic, sent again on every connection
        hooks.add(st -> discovery.onConnected(st.nodeId(), st.topics(), (t, payload, retain) -> connection.publish(t, payload, retain)));
        pool.onChange(() -> status.publish(false));
        running = true;
        pipeline.start();
        LOG.infof("MQTT intake: node %s, client id %s, broker %s:%d%s, requests on %s and %s (broadcast), state in %s", nodeId, clientId, host, port,
                broker != null ? " (embedded)" : "", topics.requests(), topics.fleetRequests(), stateDir);
        if (!pool.enabled()) {
            LOG.info("work pool disabled (edgellm.mqtt.pool-group=none)");
        } else if (broker != null) {
            LOG.warnf("the embedded MQTT broker (Moquette) has no shared subscriptions: this node subscribes to the work pool's topics (%s, %s) "
                    + "directly and answers them alone; a fleet's work pool needs an external broker (mosquitto 2.x, EMQX, HiveMQ: edgellm.mqtt.host)",
                    topics.poolRequests(), topics.poolRequests("<model>"));
        } else {
            LOG.infof("work pool: group %s on %s and %s, joined once the model serves, at most %d pool requests held (edgellm.mqtt.max-inflight)",
                    group, topics.poolRequests(), topics.poolRequests("<model>"), Math.max(1, m.maxInflight()));
        }
        connection.start();
    }

    /**
     * Before the engine stops: leave the pool, answer what was already received (up to
     * {@code edgellm.mqtt.drain-timeout}), stop taking requests, mark the node offline, leave the broker.
     */
    void onStop(@Observes @Priority(10) ShutdownEvent event) {
        if (!running) {
            return;
        }
        drain(config.mqtt().drainTimeout());
        running = false;
        try {
            pipeline.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            connection.publish(topics.status(), status.offline(), true).get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debugf("offline status not confirmed: %s", e);
        }
        try {
            connection.stop().get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debugf("disconnect not confirmed: %s", e);
        }
        replyThread.shutdown();
        if (broker != null) {
            broker.close();
        }
        dedup.cache().close();
    }

    private void drain(Duration timeout) {
        draining = true;
        long end = System.nanoTime() + timeout.toNanos();
        try {
            pool.drain().get(Math.max(1, Math.min(2000, timeout.toMillis())), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.debugf("leaving the pool not confirmed: %s", e);
        }
        status.publish(false);
        if (timeout.isZero() || pipeline.idle()) {
            return;
        }
        LOG.infof("draining: answering %d received requests (up to %s, edgellm.mqtt.drain-timeout)", pipeline.waiting() + dedup.inFlight(), timeout);
        while (System.nanoTime() < end && !pipeline.idle()) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (!pipeline.idle()) {
            LOG.warnf("drain timeout: %d requests not answered stay with the broker for this node's next start", pipeline.waiting() + dedup.inFlight());
        }
    }

    /** Acknowledges a request whose answer is out (and frees its place in the pool). */
    private void settle(Delivery d) {
        connection.ack(d);
        if (pool.isPool(d)) {
            pool.released(d);
        }
    }

    // ---- status ------------------------------------------------------------------------------------

    @Scheduled(identity = "mqtt-status", every = "${edgellm.mqtt.status-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void statusTick() {
        if (running) {
            status.publish(true);
        }
    }

    /** Every second: join or leave the pool as readiness says, and publish the status when it changed. */
    @Scheduled(identity = "mqtt-status-on-change", every = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void statusWatch() {
        if (running) {
            pool.evaluate();
            status.publish(false);
        }
    }

    /** The intake's own fields of the status. */
    private Map<String, Object> intakeStatus() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("mqtt_waiting", pipeline.waiting());
        s.put("mqtt_in_flight", dedup.inFlight());
        s.put("pool", pool.report());
        s.put("draining", draining);
        s.put("memory_used_bytes", memory.usedBytes());
        s.put("memory_limit_bytes", memory.limitBytes());
        for (java.util.function.Supplier<Map<String, Object>> f : statusFields) {
            s.putAll(f.get());
        }
        return s;
    }

    /**
     * Runs {@code hook} on every connection to the broker, right after the retained status (and at
     * once when connected now): for other features' retained messages tied to this node's status,
     * such as Home Assistant discovery configs.
     */
    public void onConnect(StatusPublisher.ConnectHook hook) {
        hooks.add(hook);
        StatusPublisher s = status;
        if (s != null && connection.connected()) {
            hook.connected(s);
        }
    }

    /**
     * Adds a subscription of another feature on the intake's connection (QoS 1 recommended): the
     * handler gets each message and acknowledges it with {@link #ack} when done with it.
     *
     * @throws IllegalStateException when the intake is not running (MQTT disabled)
     */
    public void subscribe(String filter, int qos, MqttConnection.Handler handler) {
        if (connection == null) {
            throw new IllegalStateException("the MQTT intake is not running");
        }
        connection.subscribe(filter, qos, handler);
    }

    /** Ends subscriptions of another feature; completes when the broker confirmed it (or at once when not connected). */
    public java.util.concurrent.CompletableFuture<Void> unsubscribe(List<String> filters) {
        if (connection == null) {
            throw new IllegalStateException("the MQTT intake is not running");
        }
        return connection.unsubscribe(filters);
    }

    /**
     * Subscriptions of another feature that an earlier run may have left in the persistent session
     * and that are not wanted now: asked on every connection, unsubscribed then.
     */
    public void unsubscribeOnConnect(java.util.function.Supplier<List<String>> stale) {
        connection.unsubscribeOnConnect(stale);
    }

    /**
     * A message that matches no current subscription (an earlier run's, or one just ended) is
     * offered to {@code claim} before it is taken for a request: true when it took (and settled) it.
     */
    public void onStray(java.util.function.Predicate<Delivery> claim) {
        strays.add(claim);
    }

    /**
     * Tells {@code listener} of every node's retained status (topic and payload, this node's too),
     * subscribing to {@code <prefix>/+/status} with the first listener. On the connection's event
     * loop: must not block.
     */
    public synchronized void onStatus(java.util.function.BiConsumer<String, byte[]> listener) {
        boolean first = statusListeners.isEmpty();
        statusListeners.add(listener);
        if (first) {
            connection.subscribe(topics.prefix() + "/+/status", 0, d -> {
                for (java.util.function.BiConsumer<String, byte[]> l : statusListeners) {
                    try {
                        l.accept(d.topic(), d.payload());
                    } catch (RuntimeException e) {
                        LOG.errorf(e, "a status listener failed on %s", d.topic());
                    }
                }
            });
        }
    }

    /** Adds fields of another feature to the status document (published again when they change). */
    public void statusFields(java.util.function.Supplier<Map<String, Object>> fields) {
        statusFields.add(fields);
    }

    /** Publishes the status now if it changed in substance (another feature's fields count). */
    public void publishStatus() {
        StatusPublisher s = status;
        if (running && s != null) {
            s.publish(false);
        }
    }

    /** Publishes once; completes when the broker has it (QoS 1), exceptionally when not connected. */
    public java.util.concurrent.CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain) {
        return connection.publish(topic, payload, retain);
    }

    /** Publishes until the broker has it, retrying across reconnections until the intake stops. */
    public java.util.concurrent.CompletableFuture<Void> deliver(String topic, byte[] payload, boolean retain) {
        return connection.deliver(topic, payload, retain);
    }

    /** The directory of the node's state (the MQTT state directory), null when MQTT is off. */
    public Path stateDir() {
        return stateDir;
    }

    /** Whether it is connected to the broker since at least {@code d}. */
    public boolean connectedFor(Duration d) {
        return connection != null && connection.connected() && connection.connectedSince() != null
                && connection.connectedSince().plus(d).isBefore(java.time.Instant.now());
    }

    /** Acknowledges a message received by another feature's subscription. */
    public void ack(Delivery d) {
        connection.ack(d);
    }

    /** The status document published on {@code <prefix>/<node>/status}. */
    public Map<String, Object> status() {
        return status.status();
    }

    /** For {@code /api/system}: the broker, the topics and the connection. */
    public Map<String, Object> report() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("enabled", running);
        if (!running) {
            return m;
        }
        MqttConnection.Settings s = connection.settings();
        m.put("node", nodeId);
        m.put("broker", s.host() + ":" + s.port());
        m.put("embedded_broker", broker != null);
        m.put("client_id", connection.clientId());
        m.put("connected", connection.connected());
        m.put("connected_since", connection.connectedSince() == null ? null : connection.connectedSince().toString());
        List<String> requests = new ArrayList<>(List.of(topics.requests(), topics.fleetRequests()));
        m.put("requests", requests);
        m.put("pool", pool.report());
        m.put("responses", topics.responses("<id>"));
        m.put("errors", topics.errors());
        m.put("status", topics.status());
        m.put("waiting", pipeline.waiting());
        m.put("in_flight", dedup.inFlight());
        m.put("cached_responses", dedup.cache().count());
        m.put("inbox_capacity", pipeline.inboxCapacity());
        m.put("failed_cycles", connection.failedCycles());
        m.put("last_problem", connection.lastProblem());
        m.put("reply_prefixes", replyPolicy.prefixes());
        m.put("state_dir", stateDir.toString());
        m.put("draining", draining);
        return m;
    }

    public boolean connected() {
        return connection != null && connection.connected();
    }

    /** Whether the intake runs at all (enabled and started). */
    public boolean running() {
        return running;
    }

    /** Connection cycles failed in a row. */
    public int failedCycles() {
        return connection == null ? 0 : connection.failedCycles();
    }

    /** What went wrong last with the connection, null when nothing did. */
    public String lastProblem() {
        return connection == null ? null : connection.lastProblem();
    }

    /** Counters for the metrics. */
    public MqttMetrics mqttMetrics() {
        return mqttMetrics;
    }

    /** Requests waiting in the inbox. */
    public int inboxDepth() {
        return pipeline == null ? 0 : pipeline.inboxDepth();
    }

    public String nodeId() {
        return nodeId;
    }

    /** Whether the node is a member of the work pool now. */
    public boolean poolJoined() {
        return running && pool.joined();
    }

    /** Work pool requests held (received, not yet answered). */
    public int poolHeld() {
        return running ? pool.held() : 0;
    }

    public Topics topics() {
        return topics;
    }
}
