package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.config.EdgeLlmConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Home Assistant MQTT discovery: retained config messages under
 * {@code <prefix>/sensor/edgellm_<node>/<sensor>/config} that make a node appear in Home Assistant
 * as a device with sensors (status, model, backend, tokens/s, queue depth, memory used and limit,
 * requests completed), each read from the node's retained status topic with a
 * {@code value_template}, and available while that status says {@code online} (the last will and a
 * clean stop say {@code offline}).
 *
 * <p>On (by default) when an external broker is configured, where Home Assistant can be; off with
 * the embedded broker. Set {@code edgellm.mqtt.discovery.enabled=false} to remove a node: on its
 * next connection it publishes an empty retained message to each config topic, which deletes the
 * entities in Home Assistant and the retained configs on the broker.
 *
 * <p>The intake calls {@link #onConnected} each time its client (re)connects; this class owns no
 * connection and no thread.
 */
@ApplicationScoped
public class HomeAssistantDiscovery {
    private static final Logger LOG = Logger.getLogger(HomeAssistantDiscovery.class);

    /** Publishes one message (QoS of the intake); completes when the broker has it. */
    @FunctionalInterface
    public interface Publisher {
        CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain);
    }

    /** One retained config: its topic and JSON payload. */
    public record Config(String topic, Map<String, Object> payload) {}

    /** A sensor read from the status document. */
    record Sensor(String key, String name, String template, String unit, String deviceClass, String stateClass, String icon,
                  Integer precision, boolean diagnostic) {}

    /** The sensors of a node, in the order Home Assistant lists them. */
    static final List<Sensor> SENSORS = List.of(
            new Sensor("status", "Status", "{{ value_json.phase }}", null, null, null, "mdi:state-machine", null, false),
            new Sensor("model", "Model", "{{ value_json.model or 'none' }}", null, null, null, "mdi:brain", null, true),
            new Sensor("backend", "Backend", "{{ value_json.backend or 'none' }}", null, null, null, "mdi:chip", null, true),
            new Sensor("tokens_per_second", "Generation speed", "{{ value_json.tokens_per_second }}", "tok/s", null, "measurement",
                    "mdi:speedometer", 1, false),
            new Sensor("queue_depth", "Queue depth", "{{ value_json.queue_depth }}", null, null, "measurement", "mdi:tray-full", 0, false),
            new Sensor("memory_used", "Memory used",
                    "{{ (value_json.memory_used_bytes / 1048576) | round(1) if value_json.memory_used_bytes is number and value_json.memory_used_bytes >= 0 else None }}",
                    "MiB", "data_size", "measurement", "mdi:memory", 0, false),
            new Sensor("memory_limit", "Memory limit",
                    "{{ (value_json.memory_limit_bytes / 1048576) | round(1) if value_json.memory_limit_bytes is number and value_json.memory_limit_bytes >= 0 else None }}",
                    "MiB", "data_size", "measurement", "mdi:memory", 0, true),
            new Sensor("requests_completed", "Requests completed", "{{ value_json.jobs_completed }}", null, null, "total_increasing",
                    "mdi:counter", 0, false));

    @Inject
    EdgeLlmConfig config;
    @Inject
    ObjectMapper json;
    @ConfigProperty(name = "quarkus.application.version", defaultValue = "unknown")
    String version;

    /** Refuses a discovery prefix that is not a topic at startup, not at the first connection. */
    void checkPrefix(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent event) {
        String p = config.mqtt().discovery().prefix();
        if (config.mqtt().enabled() && (enabled() || removing()) && (!Topics.validName(p) || p.endsWith("/"))) {
            throw new IllegalArgumentException("edgellm.mqtt.discovery.prefix '" + p + "' is not a valid topic (no wildcards, no trailing /, not empty)");
        }
    }

    /** Whether discovery is on: as configured, else when the broker is an external one. */
    public boolean enabled() {
        return config.mqtt().discovery().enabled().orElse(config.mqtt().host().filter(h -> !h.isBlank()).isPresent());
    }

    /** Whether discovery was turned off explicitly: the node's configs are then removed. */
    boolean removing() {
        return config.mqtt().discovery().enabled().map(e -> !e).orElse(false);
    }

    /**
     * The client is connected: publishes the retained configs (discovery on), or empty retained
     * messages to the same topics (turned off: removes the node from Home Assistant), or nothing.
     */
    public CompletableFuture<Void> onConnected(String node, Topics topics, Publisher publisher) {
        boolean on = enabled();
        if (!on && !removing()) {
            return CompletableFuture.completedFuture(null);
        }
        List<Config> configs = configs(config.mqtt().discovery().prefix(), node, topics, version);
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        for (Config c : configs) {
            sent.add(publisher.publish(c.topic(), on ? bytes(c.payload()) : new byte[0], true));
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new));
        return all.whenComplete((v, t) -> {
            if (t != null) {
                LOG.warnf("Home Assistant discovery: not every config reached the broker (%s); sent again on the next connection", t.getMessage());
            } else if (on) {
                LOG.infof("Home Assistant discovery: %d sensors of device edgellm_%s under %s/sensor/%s/", configs.size(), level(node),
                        config.mqtt().discovery().prefix(), "edgellm_" + level(node));
            } else {
                LOG.infof("Home Assistant discovery off: removed the %d retained configs of node %s", configs.size(), node);
            }
        });
    }

    /** The retained configs of a node: one per sensor, all of one device. */
    public static List<Config> configs(String prefix, String node, Topics topics, String version) {
        String id = "edgellm_" + level(node);
        String entity = "edgellm_" + slug(node); // entity ids are lower case letters, digits and _
        Map<String, Object> device = new LinkedHashMap<>();
        device.put("identifiers", List.of(id));
        device.put("name", "EdgeLLM " + node);
        device.put("manufacturer", "EdgeLLM");
        device.put("model", "EdgeLLM inference node");
        device.put("sw_version", version);
        Map<String, Object> availability = new LinkedHashMap<>();
        availability.put("topic", topics.status());
        availability.put("value_template", "{{ value_json.status }}");
        availability.put("payload_available", "online");
        availability.put("payload_not_available", "offline");
        Map<String, Object> origin = new LinkedHashMap<>();
        origin.put("name", "EdgeLLM");
        origin.put("sw_version", version);
        List<Config> out = new ArrayList<>();
        for (Sensor s : SENSORS) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("name", s.name());
            p.put("unique_id", id + "_" + s.key());
            // object_id sets the entity id up to Home Assistant 2026.3; default_entity_id from 2025.10 on
            p.put("object_id", entity + "_" + s.key());
            p.put("default_entity_id", "sensor." + entity + "_" + s.key());
            p.put("state_topic", topics.status());
            p.put("value_template", s.template());
            if (s.unit() != null) {
                p.put("unit_of_measurement", s.unit());
            }
            if (s.deviceClass() != null) {
                p.put("device_class", s.deviceClass());
            }
            if (s.stateClass() != null) {
                p.put("state_class", s.stateClass());
            }
            if (s.precision() != null) {
                p.put("suggested_display_precision", s.precision());
            }
            if (s.diagnostic()) {
                p.put("entity_category", "diagnostic");
            }
            p.put("icon", s.icon());
            if (s.key().equals("status")) {
                p.put("json_attributes_topic", topics.status());
                p.put("json_attributes_template", "{{ {'health': value_json.health, 'reason': value_json.reason, 'context': value_json.context} | tojson }}");
            }
            p.put("availability", List.of(availability));
            p.put("device", device);
            p.put("origin", origin);
            out.add(new Config(prefix + "/sensor/" + id + "/" + s.key() + "/config", p));
        }
        return out;
    }

    /** A node id as a discovery topic level and id: letters, digits, {@code _} and {@code -} only. */
    static String level(String node) {
        return node.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    /** A node id as part of an entity id: lower case letters, digits and {@code _}. */
    static String slug(String node) {
        return node.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    private byte[] bytes(Object o) {
        try {
            return json.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
