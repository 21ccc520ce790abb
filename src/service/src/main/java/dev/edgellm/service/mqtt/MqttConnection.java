package dev.edgellm.service.mqtt;

import io.netty.handler.codec.mqtt.MqttConnectReturnCode;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import io.vertx.mqtt.messages.MqttPublishMessage;
import io.vertx.mqtt.messages.MqttSubAckMessage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jboss.logging.Logger;

/**
 * The one connection to the broker: connects, reconnects with backoff, keeps the subscriptions
 * (each with its own handler), publishes with completion on the broker's PUBACK, and acknowledges
 * received messages only when their handler says so ({@link #ack}); auto-acknowledgement is off.
 * Any feature can add subscriptions of its own ({@link #subscribe}); they are made again on every
 * connection.
 *
 * <p>Threads: the Vert.x event loop of one context owns the client and everything about it
 * (subscriptions, pending PUBACKs, timers); every public method may be called from any thread and
 * hands its work to that loop. Handlers and connect listeners run on it: they must not block.
 */
public final class MqttConnection {
    private static final Logger LOG = Logger.getLogger(MqttConnection.class);
    /** A connection that stays up this long ends a run of failed cycles. */
    static final Duration STABLE = Duration.ofSeconds(30);

    /** Gets the messages of a subscription; settles each with {@link MqttConnection#ack} when done with it. */
    @FunctionalInterface
    public interface Handler {
        void onMessage(Delivery delivery);
    }

    /** Told of every established connection (after the subscriptions were sent). */
    @FunctionalInterface
    public interface ConnectListener {
        void connected(boolean sessionPresent);
    }

    /** A received message, with the connection it came on and when. */
    public record Delivery(MqttPublishMessage msg, int epoch, Instant receivedAt) {
        public byte[] payload() {
            return msg.payload().getBytes();
        }

        public String topic() {
            return msg.topicName();
        }

        public boolean atMostOnce() {
            return msg.qosLevel() == MqttQoS.AT_MOST_ONCE;
        }
    }

    /**
     * How to reach the broker and how hard to try.
     *
     * @param oversizeReset connections in a row ended by an oversize message after which the next one
     *                      starts with a clean session, ending the loop (0: never)
     */
    public record Settings(String host, int port, MqttQoS qos, Duration minBackoff, Duration maxBackoff, int downAfter, int maxMessage,
                           int oversizeReset) {}

    private final Vertx vertx;
    private final Context ctx;
    private final MqttClientOptions options;
    private final Settings settings;
    private final MqttMetrics metrics;
    private final List<ConnectListener> listeners = new CopyOnWriteArrayList<>();

    private volatile boolean running;
    private volatile boolean connected;
    private volatile int epoch;
    private volatile int failedCycles;
    private volatile String lastProblem;
    private volatile Instant connectedSince;
    /** Packet ids of this connection received and not yet acknowledged: a resend of one is a copy. */
    private final Set<Integer> unacked = ConcurrentHashMap.newKeySet();

    // Owned by the event loop.
    private MqttClient client;
    private final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
    private Handler fallback = d -> ack(d);
    private final Map<Integer, CompletableFuture<Void>> pendingPubacks = new HashMap<>();
    private final Set<Integer> earlyPubacks = new HashSet<>();
    private final Map<Integer, CompletableFuture<Void>> pendingUnsubacks = new HashMap<>();
    private final Map<Integer, List<String>> pendingSubacks = new HashMap<>();
    private boolean reconnectScheduled;
    private long backoffMillis;
    private String lastConnectProblem;
    private long connectedAtNanos;
    /** Connections in a row ended by an oversize message. */
    private int oversizeCycles;
    /** The next connection starts with a clean session, to end a loop of oversize messages. */
    private boolean cleanNext;
    /** The clean-session connection that is being closed again (it only made the broker drop the session). */
    private MqttClient resetting;

    private record Subscription(String filter, int qos, Handler handler) {}

    public MqttConnection(Vertx vertx, MqttClientOptions options, Settings settings, MqttMetrics metrics) {
        this.vertx = vertx;
        this.ctx = vertx.getOrCreateContext();
        this.options = options;
        this.settings = settings;
        this.metrics = metrics;
    }

    // ---- life cycle -------------------------------------------------------------------------------

    /** Connects (and keeps reconnecting until {@link #stop}). */
    public void start() {
        running = true;
        ctx.runOnContext(v -> connect());
    }

    /** Stops reconnecting and disconnects; completes when the broker has the DISCONNECT (or at once when not connected). */
    public CompletableFuture<Void> stop() {
        running = false;
        CompletableFuture<Void> gone = new CompletableFuture<>();
        ctx.runOnContext(v -> {
            MqttClient c = client;
            client = null;
            connected = false;
            failPending("the connection to the MQTT broker was closed");
            if (c != null && c.isConnected()) {
                c.disconnect().onComplete(ar -> gone.complete(null));
            } else {
                gone.complete(null);
            }
        });
        return gone;
    }

    // ---- subscriptions ------------------------------------------------------------------------------

    /**
     * Subscribes {@code handler} to {@code subscription} (a topic filter, or a shared subscription
     * {@code $share/<group>/<filter>}): now when connected, and again on every connection.
     */
    public void subscribe(String subscription, int qos, Handler handler) {
        ctx.runOnContext(v -> {
            subscriptions.put(subscription, new Subscription(subscription, qos, handler));
            MqttClient c = client;
            if (c != null && connected) {
                send(c, List.of(subscriptions.get(subscription)));
            }
        });
    }

    /**
     * Ends subscriptions; completes when the broker confirmed it (UNSUBACK), or at once when not
     * connected (a persistent session keeps them: see {@link #unsubscribeOnConnect}).
     */
    public CompletableFuture<Void> unsubscribe(List<String> subs) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ctx.runOnContext(v -> {
            subs.forEach(subscriptions::remove);
            MqttClient c = client;
            if (subs.isEmpty() || c == null || !connected) {
                done.complete(null);
                return;
            }
            c.unsubscribe(subs).onComplete(ar -> {
                if (ar.failed()) {
                    done.completeExceptionally(ar.cause());
                } else {
                    pendingUnsubacks.put(ar.result(), done);
                }
            });
        });
        return done;
    }

    /**
     * Subscriptions the broker may still hold for this client from an earlier run (a persistent
     * session keeps them) and that nobody wants now: asked for by {@code stale} on each connection,
     * unsubscribed right after the current ones are made.
     */
    public void unsubscribeOnConnect(java.util.function.Supplier<List<String>> stale) {
        this.stale.add(stale);
    }

    /** Every feature's stale subscriptions (the work pool's, the watches'). */
    private final List<java.util.function.Supplier<List<String>>> stale = new CopyOnWriteArrayList<>();

    /** Messages that match no subscription (an earlier run's, still in the session) go here; default: acknowledged and dropped. */
    public void fallback(Handler handler) {
        ctx.runOnContext(v -> fallback = handler);
    }

    /** Told of every connection, after the subscriptions were sent. */
    public void onConnect(ConnectListener listener) {
        listeners.add(listener);
    }

    private void send(MqttClient c, List<Subscription> subs) {
        if (subs.isEmpty()) {
            return;
        }
        Map<String, Integer> m = new LinkedHashMap<>();
        subs.forEach(s -> m.put(s.filter(), s.qos()));
        List<String> names = new ArrayList<>(m.keySet());
        c.subscribe(m).onComplete(ar -> {
            if (ar.failed()) {
                LOG.warnf("subscription to %s failed: %s", names, ar.cause().getMessage());
            } else {
                pendingSubacks.put(ar.result(), names);
            }
        });
    }

    private void onSubAck(MqttClient c, MqttSubAckMessage ack) {
        List<String> names = pendingSubacks.remove(ack.messageId());
        List<Integer> granted = ack.grantedQoSLevels();
        for (int i = 0; i < granted.size(); i++) {
            if (granted.get(i) == 0x80) {
                LOG.errorf("the broker refused the subscription to %s; check its ACL", names != null && i < names.size() ? names.get(i) : "a topic");
            }
        }
    }

    // ---- connection ----------------------------------------------------------------------------------

    private void connect() {
        if (!running) {
            return;
        }
        boolean reset = cleanNext && !options.isCleanSession();
        cleanNext = false;
        MqttClient c = MqttClient.create(vertx, reset ? new MqttClientOptions(options).setCleanSession(true) : options);
        // From here on only this client's deliveries count; earlier ones are sent again by the
        // broker (same session) or are gone with the old session.
        client = c;
        epoch++;
        unacked.clear();
        failPending("the connection to the MQTT broker was lost");
        c.publishHandler(msg -> onPublish(c, msg));
        c.publishCompletionHandler(pid -> onPuback(c, pid));
        c.subscribeCompletionHandler(ack -> onSubAck(c, ack));
        c.unsubscribeCompletionHandler(pid -> {
            CompletableFuture<Void> f = pendingUnsubacks.remove(pid);
            if (f != null) {
                f.complete(null);
            }
        });
        c.closeHandler(v -> onClosed(c));
        c.exceptionHandler(t -> onException(c, t));
        c.connect(settings.port(), settings.host()).onComplete(ar -> {
            if (c != client) {
                return;
            }
            if (ar.failed() || ar.result().code() != MqttConnectReturnCode.CONNECTION_ACCEPTED) {
                String why = ar.failed() ? String.valueOf(ar.cause().getMessage()) : "refused: " + ar.result().code();
                if (!why.equals(lastConnectProblem)) {
                    LOG.warnf("cannot connect to the MQTT broker %s:%d (%s); retrying with backoff", settings.host(), settings.port(), why);
                    lastConnectProblem = why;
                }
                connected = false;
                cleanNext |= reset;
                cycleFailed(why);
                scheduleReconnect();
                return;
            }
            if (reset) {
                sessionReset(c);
                return;
            }
            connectedAtNanos = System.nanoTime();
            boolean sessionPresent = ar.result().isSessionPresent();
            connected = true;
            connectedSince = Instant.now();
            long stableAt = connectedAtNanos;
            vertx.setTimer(STABLE.toMillis(), id -> {
                if (c == client && connected && connectedAtNanos == stableAt) {
                    failedCycles = 0;
                    oversizeCycles = 0;
                    lastProblem = null;
                }
            });
            backoffMillis = 0;
            lastConnectProblem = null;
            LOG.infof("connected to the MQTT broker %s:%d as %s (%s session); subscribing to %s", settings.host(), settings.port(),
                    options.getClientId(), sessionPresent ? "resumed" : "new", String.join(", ", subscriptions.keySet()));
            send(c, List.copyOf(subscriptions.values()));
            List<String> gone = new ArrayList<>();
            stale.forEach(st -> gone.addAll(st.get()));
            gone.removeAll(subscriptions.keySet());
            if (sessionPresent && !gone.isEmpty()) {
                LOG.infof("leaving subscriptions of an earlier run: %s", gone);
                c.unsubscribe(gone);
            }
            for (ConnectListener l : listeners) {
                try {
                    l.connected(sessionPresent);
                } catch (RuntimeException e) {
                    LOG.errorf(e, "a connect listener failed");
                }
            }
        });
    }

    /**
     * The broker accepted a clean-session connection: it has discarded this node's session (the
     * oversize message and everything else it held for the node and had not delivered). Close it
     * at once and connect again with the persistent session, which starts empty; requests already
     * received stay with the intake and are answered (their acknowledgements go nowhere).
     */
    private void sessionReset(MqttClient c) {
        metrics.sessionResets.incrementAndGet();
        oversizeCycles = 0;
        LOG.warnf("MQTT: connected with a clean session to end the loop of oversize messages; the broker discarded this node's session: "
                + "the oversize message and any request it held for %s and had not delivered yet (their senders get no answer and must send them "
                + "again). Requests already received are still answered. Reconnecting with a persistent session", options.getClientId());
        resetting = c;
        c.disconnect();
        vertx.setTimer(2000, id -> ctx.runOnContext(v -> {
            if (resetting == c && c == client) {
                resetting = null; // no close in time: go on without it
                connect();
            }
        }));
    }

    /**
     * A message over the client's size limit leaves Netty's MQTT decoder discarding everything
     * until the connection ends (and Vert.x hands the client only the exception, not the packet id
     * to acknowledge the message with): so end the connection now. The broker offers a QoS 1
     * message again on the next connection of the session; each such cycle counts as failed, which
     * the {@code mqtt} health check and the metrics show. After
     * {@code edgellm.mqtt.oversize-session-reset} such cycles in a row the next connection starts
     * with a clean session, which ends the loop ({@link #sessionReset}; README, "Security").
     */
    private void onException(MqttClient c, Throwable t) {
        if (c != client) {
            return;
        }
        if (t instanceof io.netty.handler.codec.TooLongFrameException) {
            metrics.oversize.incrementAndGet();
            LOG.errorf("the MQTT broker sent a message over %d bytes (edgellm.mqtt.max-payload + headers): %s; it was not read. "
                    + "Dropping the connection; limit the broker's packet size to stop it being offered again", settings.maxMessage(), t.getMessage());
            lastProblem = "a message over the size limit (" + t.getMessage() + ")";
            connected = false;
            oversizeCycles++;
            if (settings.oversizeReset() > 0 && oversizeCycles >= settings.oversizeReset() && !options.isCleanSession()) {
                cleanNext = true;
                LOG.errorf("MQTT: %d connections in a row ended by a message over the size limit (the broker offers it again on every "
                        + "connection): the next connection starts with a clean session to end the loop (edgellm.mqtt.oversize-session-reset)",
                        oversizeCycles);
            }
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
        metrics.failedCycles.incrementAndGet();
        lastProblem = why;
        if (failedCycles == Math.max(1, settings.downAfter())) {
            LOG.errorf("MQTT: %d connection cycles failed in a row (last: %s); the mqtt health check is DOWN", failedCycles, why);
        }
    }

    private void onClosed(MqttClient c) {
        if (c != client) {
            return;
        }
        if (c == resetting) {
            resetting = null;
            if (running) {
                connect();
            }
            return;
        }
        boolean wasConnected = connected;
        connected = false;
        metrics.disconnects.incrementAndGet();
        if (!wasConnected || System.nanoTime() - connectedAtNanos < STABLE.toNanos()) {
            cycleFailed(lastProblem != null ? lastProblem : "the connection was lost within " + STABLE.toSeconds() + " s");
        } else {
            failedCycles = 0;
        }
        failPending("the connection to the MQTT broker was lost");
        if (running) {
            LOG.warnf("lost the connection to the MQTT broker %s:%d; reconnecting", settings.host(), settings.port());
            scheduleReconnect();
        }
    }

    private void failPending(String why) {
        pendingPubacks.values().forEach(f -> f.completeExceptionally(new IllegalStateException(why)));
        pendingPubacks.clear();
        earlyPubacks.clear();
        pendingUnsubacks.values().forEach(f -> f.complete(null)); // the session may keep it: unsubscribed again on the next connection
        pendingUnsubacks.clear();
        pendingSubacks.clear();
    }

    private void scheduleReconnect() {
        if (reconnectScheduled || !running) {
            return;
        }
        reconnectScheduled = true;
        long min = Math.max(10, settings.minBackoff().toMillis());
        long max = Math.max(min, settings.maxBackoff().toMillis());
        backoffMillis = backoffMillis == 0 ? min : Math.min(max, backoffMillis * 2);
        vertx.setTimer(backoffMillis, id -> ctx.runOnContext(v -> {
            reconnectScheduled = false;
            connect();
        }));
    }

    // ---- messages in ----------------------------------------------------------------------------------

    private void onPublish(MqttClient c, MqttPublishMessage m) {
        if (c != client) {
            return;
        }
        if (m.qosLevel() != MqttQoS.AT_MOST_ONCE && !unacked.add(m.messageId())) {
            // The broker sent a message we hold again (Moquette resends after 5 s): it is acknowledged with the first.
            LOG.debugf("packet %d on %s again: already held", m.messageId(), m.topicName());
            return;
        }
        Delivery d = new Delivery(m, epoch, Instant.now());
        Handler h = fallback;
        for (Subscription s : subscriptions.values()) {
            if (Topics.matches(Topics.filterOf(s.filter()), m.topicName())) {
                h = s.handler();
                break;
            }
        }
        try {
            h.onMessage(d);
        } catch (RuntimeException e) {
            LOG.errorf(e, "the handler of %s failed; acknowledging the message", m.topicName());
            ack(d);
        }
    }

    /**
     * Acknowledges a message to the broker (QoS 1), if its connection is still the current one;
     * otherwise the broker sends it again on the next connection.
     */
    public void ack(Delivery d) {
        if (d.atMostOnce()) {
            return;
        }
        ctx.runOnContext(v -> {
            if (d.epoch() != epoch) {
                return; // that connection is gone: the broker sends the message again
            }
            unacked.remove(d.msg().messageId());
            d.msg().ack();
        });
    }

    /** Forgets a held QoS 1 message without acknowledging it (the broker keeps it until the next connection). */
    public void release(Delivery d) {
        if (!d.atMostOnce() && d.epoch() == epoch) {
            unacked.remove(d.msg().messageId());
        }
    }

    // ---- messages out ----------------------------------------------------------------------------------

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

    /**
     * Publishes once; completes when the broker has acknowledged it (QoS 1) or it was sent (QoS 0),
     * exceptionally when not connected or the connection drops first.
     */
    public CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        MqttQoS qos = settings.qos();
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

    /** Publishes until the broker has it, retrying (across reconnections) until the connection is stopped. */
    public CompletableFuture<Void> deliver(String topic, byte[] payload) {
        return deliver(topic, payload, false);
    }

    /** {@link #deliver(String, byte[])}, retained or not. */
    public CompletableFuture<Void> deliver(String topic, byte[] payload, boolean retain) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        attempt(topic, payload, retain, done, 0);
        return done;
    }

    private void attempt(String topic, byte[] payload, boolean retain, CompletableFuture<Void> done, int n) {
        publish(topic, payload, retain).whenComplete((v, t) -> {
            if (t == null) {
                done.complete(null);
            } else if (!running) {
                done.completeExceptionally(t);
            } else {
                if (n % 10 == 0) {
                    LOG.warnf("could not publish to %s (%s); retrying", topic, t.getMessage());
                }
                vertx.setTimer(Math.min(5000, 500L * (n + 1)), id -> attempt(topic, payload, retain, done, n + 1));
            }
        });
    }

    // ---- state ------------------------------------------------------------------------------------------

    public boolean connected() {
        return connected;
    }

    /** Whether it runs (started and not stopped). */
    public boolean running() {
        return running;
    }

    /** The current connection's number: a delivery of an older one cannot be acknowledged any more. */
    public int epoch() {
        return epoch;
    }

    /** Connection cycles failed in a row. */
    public int failedCycles() {
        return failedCycles;
    }

    /** What went wrong last with the connection, null when nothing did. */
    public String lastProblem() {
        return lastProblem;
    }

    public Instant connectedSince() {
        return connectedSince;
    }

    public Settings settings() {
        return settings;
    }

    public String clientId() {
        return options.getClientId();
    }
}
