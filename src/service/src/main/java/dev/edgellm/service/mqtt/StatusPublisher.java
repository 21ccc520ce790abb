package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.monitor.EngineMetrics;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * The node's retained status on {@code <prefix>/<node>/status}: published on every connection,
 * every {@code edgellm.mqtt.status-interval}, and when health, phase, model, queue saturation,
 * pool membership or draining change. The last will (set on the connection) and a clean stop make
 * it {@code {"node":...,"status":"offline",...}}.
 *
 * <p><b>Hooks.</b> Other features publish retained messages of their own that belong with the
 * status (Home Assistant discovery: configs whose availability is this topic) through
 * {@link #onConnect}: each hook runs on every connection, right after the status, with this
 * publisher; {@link #publishRetained} sends them.
 */
public final class StatusPublisher {
    private static final Logger LOG = Logger.getLogger(StatusPublisher.class);

    /** Runs on every connection, after the status was published (on the event loop: must not block). */
    @FunctionalInterface
    public interface ConnectHook {
        void connected(StatusPublisher status);
    }

    private final ObjectMapper json;
    private final EngineService engine;
    private final EngineMetrics metrics;
    private final Topics topics;
    private final MqttConnection connection;
    private final Supplier<Map<String, Object>> intake;
    private final List<ConnectHook> hooks;
    private volatile String lastKey = "";

    /**
     * @param intake the intake's own fields of the status ({@code mqtt_waiting}, {@code mqtt_in_flight}, {@code pool}, ...)
     * @param hooks  run on every connection (the list may grow while the service runs)
     */
    StatusPublisher(ObjectMapper json, EngineService engine, EngineMetrics metrics, Topics topics, MqttConnection connection,
                    Supplier<Map<String, Object>> intake, List<ConnectHook> hooks) {
        this.json = json;
        this.engine = engine;
        this.metrics = metrics;
        this.topics = topics;
        this.connection = connection;
        this.intake = intake;
        this.hooks = hooks;
        connection.onConnect(sessionPresent -> {
            publish(true);
            for (ConnectHook h : hooks) {
                try {
                    h.connected(this);
                } catch (RuntimeException e) {
                    LOG.errorf(e, "a status hook failed");
                }
            }
        });
    }

    /** The status topic, {@code <prefix>/<node>/status} (retained; {@code offline} as last will). */
    public String topic() {
        return topics.status();
    }

    public String nodeId() {
        return topics.node();
    }

    public Topics topics() {
        return topics;
    }

    /** Publishes a retained message (QoS as configured); completes when the broker has it. */
    public CompletableFuture<Void> publishRetained(String topic, byte[] payload) {
        return connection.publish(topic, payload, true);
    }

    /** Publishes the status; unless {@code always}, only when it changed in substance. */
    void publish(boolean always) {
        if (!connection.connected()) {
            return;
        }
        Map<String, Object> s = status();
        Object pool = s.get("pool") instanceof Map<?, ?> p ? p.get("joined") + "/" + p.get("free") : null;
        String key = s.get("health") + "|" + s.get("phase") + "|" + s.get("model") + "|" + s.get("queue_saturated") + "|" + pool + "|" + s.get("draining") + "|" + s.get("watches");
        if (!always && key.equals(lastKey)) {
            return;
        }
        lastKey = key;
        connection.publish(topics.status(), Replies.bytes(json, s), true).exceptionally(t -> {
            LOG.debugf("status not published: %s", t.getMessage());
            return null;
        });
    }

    /** The status document (fields are only ever added, never renamed: fleet views and dashboards read them). */
    public Map<String, Object> status() {
        EngineService.Status st = engine.status();
        FitVerdict v = engine.verdict();
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("node", topics.node());
        s.put("status", "online");
        s.put("health", engine.canServe() ? "UP" : "DOWN");
        s.put("phase", st.phase().name());
        s.put("reason", st.reason());
        s.put("model", st.ready() ? engine.modelId() : null);
        s.put("backend", engine.calibration() == null ? null : engine.calibration().chosen());
        s.put("context", engine.context());
        s.put("memory_fit", v == null ? null : Map.of("fits", v.fits(), "summary", v.summary()));
        s.put("queue_depth", engine.queueDepth());
        s.put("queue_capacity", engine.queueCapacity());
        s.put("queue_saturated", engine.saturated());
        s.put("busy", engine.busy());
        s.put("tokens_per_second", Replies.round(metrics.lastTokensPerSecond()));
        s.put("jobs_completed", engine.completedJobs());
        s.putAll(intake.get());
        s.put("time", Instant.now().toString());
        return s;
    }

    /** The last will: what the broker publishes when the connection dies without a goodbye. */
    static byte[] will(ObjectMapper json, String node) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("node", node);
        s.put("status", "offline");
        s.put("reason", "connection lost");
        return Replies.bytes(json, s);
    }

    /** The status of a clean stop. */
    byte[] offline() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("node", topics.node());
        s.put("status", "offline");
        s.put("reason", "stopped");
        s.put("time", Instant.now().toString());
        return Replies.bytes(json, s);
    }
}
