package dev.edgellm.service.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Checks Home Assistant MQTT discovery payloads against the checked-in copy of the keys its schema
 * requires and allows ({@code src/test/resources/homeassistant/mqtt-sensor-discovery-schema.json}),
 * and renders their templates as Home Assistant does (Jinja, {@code value_json} = the state
 * topic's JSON).
 */
public final class HomeAssistantSchema {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonNode schema;
    private final Jinjava jinja = new Jinjava();

    private HomeAssistantSchema(JsonNode schema) {
        this.schema = schema;
    }

    public static HomeAssistantSchema load() {
        try (InputStream in = HomeAssistantSchema.class.getResourceAsStream("/homeassistant/mqtt-sensor-discovery-schema.json")) {
            return new HomeAssistantSchema(JSON.readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What is wrong with a sensor's discovery message (empty when nothing). */
    public List<String> problems(String topic, JsonNode payload) {
        List<String> out = new ArrayList<>();
        if (!topic.matches(schema.path("topic").asText())) {
            out.add("topic " + topic + " is not <prefix>/sensor/[<node_id>/]<object_id>/config with [A-Za-z0-9_-] levels");
        }
        JsonNode sensor = schema.path("sensor");
        object(out, "sensor", payload, sensor.path("keys"), sensor.path("required"));
        for (JsonNode k : sensor.path("required_for_a_device")) {
            if (!payload.has(k.asText())) {
                out.add("a sensor of a device needs " + k.asText());
            }
        }
        JsonNode device = payload.path("device");
        if (device.isObject()) {
            object(out, "device", device, schema.path("device").path("keys"), JSON.createArrayNode());
            boolean any = false;
            for (JsonNode k : schema.path("device").path("one_of_required")) {
                any |= device.has(k.asText()) && !device.get(k.asText()).isEmpty();
            }
            if (!any) {
                out.add("device needs identifiers or connections");
            }
        }
        for (JsonNode a : payload.path("availability")) {
            object(out, "availability", a, schema.path("availability").path("keys"), schema.path("availability").path("required"));
        }
        if (payload.has("origin")) {
            object(out, "origin", payload.get("origin"), schema.path("origin").path("keys"), schema.path("origin").path("required"));
        }
        JsonNode units = sensor.path("device_class_units").path(payload.path("device_class").asText());
        if (payload.has("device_class") && units.isArray()) {
            boolean ok = false;
            for (JsonNode u : units) {
                ok |= u.asText().equals(payload.path("unit_of_measurement").asText());
            }
            if (!ok) {
                out.add("unit " + payload.path("unit_of_measurement") + " is not one of device class " + payload.path("device_class") + "'s " + units);
            }
        }
        return out;
    }

    /** Whether Home Assistant expects a number as this sensor's state. */
    public boolean numeric(JsonNode payload) {
        for (JsonNode k : schema.path("sensor").path("numeric_when_any_of")) {
            if (payload.has(k.asText())) {
                return true;
            }
        }
        return false;
    }

    /** Renders a template with {@code value_json} = {@code state}. */
    @SuppressWarnings("unchecked")
    public String render(String template, JsonNode state) {
        Map<String, Object> value = JSON.convertValue(state, Map.class);
        return jinja.render(template, Map.of("value_json", value, "value", state.toString())).strip();
    }

    private void object(List<String> out, String what, JsonNode node, JsonNode keys, JsonNode required) {
        if (!node.isObject()) {
            out.add(what + " is not an object: " + node);
            return;
        }
        for (JsonNode r : required) {
            if (!node.has(r.asText())) {
                out.add(what + " lacks the required key " + r.asText());
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            JsonNode type = keys.get(f.getKey());
            if (type == null) {
                out.add(what + " has a key Home Assistant does not know: " + f.getKey());
                continue;
            }
            String problem = check(type.asText(), f.getValue());
            if (problem != null) {
                out.add(what + "." + f.getKey() + ": " + problem + " (" + f.getValue() + ")");
            }
        }
    }

    private static String check(String type, JsonNode v) {
        if (type.startsWith("enum:")) {
            return v.isTextual() && List.of(type.substring(5).split(",")).contains(v.asText()) ? null : "not one of " + type.substring(5);
        }
        if (type.startsWith("enum-integer:")) {
            return v.isInt() && List.of(type.substring(13).split(",")).contains(v.asText()) ? null : "not one of " + type.substring(13);
        }
        if (type.startsWith("pattern:")) {
            return v.isTextual() && v.asText().matches(type.substring(8)) ? null : "does not match " + type.substring(8);
        }
        return switch (type) {
            case "string", "template" -> v.isTextual() && !v.asText().isEmpty() ? null : "not a non-empty string";
            case "string|null" -> v.isTextual() || v.isNull() ? null : "not a string or null";
            case "topic" -> v.isTextual() && !v.asText().isEmpty() && !v.asText().contains("+") && !v.asText().contains("#") ? null : "not a topic";
            case "boolean" -> v.isBoolean() ? null : "not a boolean";
            case "integer>=0" -> v.isInt() && v.asInt() >= 0 ? null : "not an integer >= 0";
            case "string[]" -> v.isArray() && !v.isEmpty() && allText(v) ? null : "not a non-empty list of strings";
            case "pair[]" -> v.isArray() ? null : "not a list of pairs";
            case "availability[]" -> v.isArray() && !v.isEmpty() ? null : "not a non-empty list";
            case "device", "origin" -> v.isObject() ? null : "not an object";
            default -> "unknown type in the schema: " + type;
        };
    }

    private static boolean allText(JsonNode a) {
        for (JsonNode e : a) {
            if (!e.isTextual()) {
                return false;
            }
        }
        return true;
    }
}
