package dev.edgellm.service.mqtt;

import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * This node's membership of the work pool: shared subscriptions ({@code $share/<group>/...}) to
 * {@code <prefix>/pool/requests} and {@code <prefix>/pool/<model>/requests}, so the broker hands
 * each pool request to one member of the group. The node is a member only while it can serve (the
 * model is loaded, fits and its backend is healthy) and is not draining for shutdown; otherwise it
 * unsubscribes, so the broker hands new pool work to the other members. It does not leave for being
 * busy: a broker drops a message that no subscription matches, so a fleet whose members all left
 * at once would lose requests. Load is balanced instead by handing back ({@link FleetLoad}): at
 * most {@code max-inflight} pool requests are admitted to the engine at a time, and the node is
 * {@link #free()} (its status says so) while it has room.
 *
 * <p>A persistent session keeps subscriptions across restarts: every pool subscription this node
 * ever made is written to {@code <state-dir>/pool-subscriptions}, and those it does not want now
 * are unsubscribed on each connection (another model, another group, or not ready yet).
 *
 * <p>Threads: {@link #taken} and {@link #released} come from the event loop, the intake and the
 * reply thread, {@link #evaluate} from any of them and the status timer; membership changes are
 * made under this object's lock, in order.
 */
final class WorkPool {
    private static final Logger LOG = Logger.getLogger(WorkPool.class);
    static final String FILE = "pool-subscriptions";

    private final MqttConnection connection;
    private final Topics topics;
    private final String group;
    private final boolean shared;
    private final int maxInflight;
    private final int qos;
    private final BooleanSupplier canServe;
    private final Supplier<String> modelId;
    private final Path stateFile;
    private final MqttConnection.Handler handler;
    private final Set<Delivery> held = Collections.newSetFromMap(new ConcurrentHashMap<>());
    private final java.util.concurrent.atomic.AtomicInteger admitted = new java.util.concurrent.atomic.AtomicInteger();
    private volatile Runnable onChange = () -> {};
    private final Set<String> everSubscribed = new LinkedHashSet<>();

    private List<String> joined = List.of();
    private volatile boolean draining;
    private volatile String why = "not connected yet";

    /**
     * @param group     the shared subscription group; empty: no pool
     * @param shared    false on a broker without shared subscriptions (the embedded one): the node
     *                  subscribes to the pool topics directly, as the only node on that broker
     * @param stateFile where the subscriptions ever made are kept (null: nowhere)
     * @param handler   gets the pool requests
     */
    WorkPool(MqttConnection connection, Topics topics, String group, boolean shared, int maxInflight, int qos, BooleanSupplier canServe,
             Supplier<String> modelId, Path stateFile, MqttConnection.Handler handler) {
        this.connection = connection;
        this.topics = topics;
        this.group = group == null ? "" : group.strip();
        this.shared = shared;
        this.maxInflight = Math.max(1, maxInflight);
        this.qos = qos;
        this.canServe = canServe;
        this.modelId = modelId;
        this.stateFile = stateFile;
        this.handler = handler;
        if (!this.group.isEmpty() && !Topics.validLevel(this.group)) {
            throw new IllegalArgumentException("edgellm.mqtt.pool-group '" + this.group + "' cannot be a topic level (no / + #, spaces or control characters)");
        }
        everSubscribed.addAll(read(stateFile));
        connection.unsubscribeOnConnect(this::stale);
    }

    boolean enabled() {
        return !group.isEmpty();
    }

    /** The subscriptions of a member serving {@code model}. */
    List<String> subscriptions(String model) {
        List<String> topicsWanted = List.of(topics.poolRequests(), topics.poolRequests(model));
        return shared ? topicsWanted.stream().map(t -> Topics.shared(group, t)).toList() : topicsWanted;
    }

    /** A pool request arrived (it counts until {@link #released}). */
    void taken(Delivery d) {
        held.add(d);
    }

    /** A pool request was answered, handed back or dropped. */
    void released(Delivery d) {
        held.remove(d);
    }

    /** Told when {@link #free()} may have changed (the status publishes it). */
    void onChange(Runnable r) {
        onChange = r;
    }

    /** A pool request goes to the engine (it counts against {@code max-inflight} until {@link #finished}). */
    void started() {
        if (admitted.incrementAndGet() == maxInflight) {
            onChange.run();
        }
    }

    /** A pool request's job ended. */
    void finished() {
        if (admitted.decrementAndGet() == maxInflight - 1) {
            onChange.run();
        }
    }

    /** Whether {@code max-inflight} pool requests are in the engine already. */
    boolean busy() {
        return admitted.get() >= maxInflight;
    }

    /** A member with room for more pool work (what other members read in the status to hand work back to it). */
    boolean free() {
        return joined() && !draining && !busy();
    }

    boolean draining() {
        return draining;
    }

    /** Whether a delivery came through the pool. */
    boolean isPool(Delivery d) {
        return topics.isPool(d.topic());
    }

    /** A new connection: what the old one held is sent again by the broker (and counted again). */
    void connected() {
        held.removeIf(d -> d.epoch() != connection.epoch());
        evaluate();
    }

    /** Joins or leaves as readiness, load and draining say. */
    synchronized void evaluate() {
        if (!enabled()) {
            return;
        }
        String not = !connection.connected() ? "not connected" : draining ? "draining for shutdown" : !canServe.getAsBoolean() ? "not ready" : null;
        if (not != null && !connection.connected()) {
            why = not; // the session keeps what it has; decided again on the next connection
            return;
        }
        if (not == null && joined.isEmpty()) {
            List<String> subs = subscriptions(modelId.get());
            remember(subs);
            subs.forEach(s -> connection.subscribe(s, qos, handler));
            joined = subs;
            LOG.infof("joined the work pool: %s", String.join(", ", subs));
            onChange.run();
        } else if (not != null && !joined.isEmpty()) {
            List<String> subs = joined;
            joined = List.of();
            LOG.infof("left the work pool (%s): %s", not, String.join(", ", subs));
            connection.unsubscribe(subs);
            onChange.run();
        }
        why = not;
    }

    /** Leaves the pool for good (shutdown); completes when the broker confirmed it. */
    CompletableFuture<Void> drain() {
        synchronized (this) {
            draining = true;
            if (joined.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            List<String> subs = joined;
            joined = List.of();
            why = "draining for shutdown";
            LOG.infof("leaving the work pool to shut down: %s", String.join(", ", subs));
            return connection.unsubscribe(subs);
        }
    }

    boolean joined() {
        return !joined.isEmpty();
    }

    int held() {
        return held.size();
    }

    /** For the status and {@code /api/system}. */
    Map<String, Object> report() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("group", enabled() ? group : null);
        m.put("joined", joined());
        m.put("subscriptions", joined);
        m.put("free", free());
        m.put("held", held.size());
        m.put("in_engine", admitted.get());
        m.put("max_inflight", maxInflight);
        m.put("shared", shared);
        if (enabled() && !joined()) {
            m.put("why_not", why);
        }
        return m;
    }

    /** Subscriptions of earlier runs that are not wanted now (asked on each connection). */
    private synchronized List<String> stale() {
        List<String> s = new ArrayList<>(everSubscribed);
        s.removeAll(joined);
        return s;
    }

    private void remember(List<String> subs) {
        if (everSubscribed.addAll(subs) && stateFile != null) {
            try {
                Files.createDirectories(stateFile.getParent());
                Path tmp = stateFile.resolveSibling(FILE + ".tmp");
                Files.writeString(tmp, String.join("\n", everSubscribed) + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                LOG.warnf("cannot write %s (%s): a later run may not leave these pool subscriptions by itself", stateFile, e.getMessage());
            }
        }
    }

    private static List<String> read(Path file) {
        if (file == null || !Files.isRegularFile(file)) {
            return List.of();
        }
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
        } catch (IOException e) {
            LOG.warnf("cannot read %s: %s", file, e.getMessage());
            return List.of();
        }
    }
}
