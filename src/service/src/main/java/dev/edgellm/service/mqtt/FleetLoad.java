package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the other members of the work pool say about their load, from their retained statuses on
 * {@code <prefix>/+/status}: which are in the same pool group, serve which model, and have room
 * ({@code pool.free}). A busy node hands a pool request back to the pool (publishes it again and
 * then acknowledges it) only when another member has room: mosquitto hands shared messages out
 * round-robin whatever a member's load, so without this a slow node would keep requests a free one
 * could answer. Statuses older than {@code stale} (a node that stopped publishing) do not count;
 * a last will ({@code offline}) removes the node.
 *
 * <p>Threads: the connection's event loop writes ({@link #onStatus}), the intake thread reads.
 */
final class FleetLoad {
    /** One member as its last status described it. */
    record Member(String group, String model, boolean free, long atMillis) {}

    private final ObjectMapper json;
    private final Topics topics;
    private final String group;
    private final Duration stale;
    private final Clock clock;
    private final Map<String, Member> members = new ConcurrentHashMap<>();

    FleetLoad(ObjectMapper json, Topics topics, String group, Duration stale, Clock clock) {
        this.json = json;
        this.topics = topics;
        this.group = group;
        this.stale = stale;
        this.clock = clock;
    }

    /** The subscription to subscribe {@link #onStatus} to. */
    String subscription() {
        return topics.prefix() + "/+/status";
    }

    /** A status message (any node's, this one's too). */
    void onStatus(Delivery d) {
        onStatus(d.topic(), d.payload());
    }

    void onStatus(String topic, byte[] payload) {
        String[] levels = topic.split("/");
        if (levels.length < 2) {
            return;
        }
        String node = levels[levels.length - 2];
        if (node.equals(topics.node())) {
            return;
        }
        JsonNode s;
        try {
            s = json.readTree(payload);
        } catch (IOException e) {
            members.remove(node);
            return;
        }
        if (s == null || !s.isObject() || !"online".equals(s.path("status").asText())) {
            members.remove(node);
            return;
        }
        JsonNode pool = s.path("pool");
        members.put(node, new Member(pool.path("group").asText(null), s.path("model").asText(null), pool.path("free").asBoolean(false),
                clock.millis()));
    }

    /**
     * Whether another member of this node's group that serves what {@code poolTopic} asks for
     * ({@code <prefix>/pool/requests}: any model; {@code <prefix>/pool/<model>/requests}: that
     * model) said it has room, recently.
     */
    boolean anotherHasRoom(String poolTopic) {
        String model = modelOf(poolTopic);
        long now = clock.millis();
        for (Member m : members.values()) {
            if (m.free() && group.equals(m.group()) && now - m.atMillis() <= stale.toMillis()
                    && (model == null || m.model() != null && Topics.sanitizeLevel(m.model()).equals(model))) {
                return true;
            }
        }
        return false;
    }

    /** The model level of a model-specific pool topic, null for the general pool. */
    String modelOf(String poolTopic) {
        if (poolTopic.equals(topics.poolRequests())) {
            return null;
        }
        String p = topics.prefix() + "/" + Topics.POOL + "/";
        if (!poolTopic.startsWith(p) || !poolTopic.endsWith("/requests")) {
            return null;
        }
        String middle = poolTopic.substring(p.length(), poolTopic.length() - "/requests".length());
        return middle.isEmpty() ? null : middle;
    }

    int known() {
        return members.size();
    }
}
