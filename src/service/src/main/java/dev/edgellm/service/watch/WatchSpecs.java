package dev.edgellm.service.watch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.service.config.EdgeLlmConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads watch definitions (the configuration tree, the API's and the watches file's JSON) into
 * checked {@link WatchSpec}s. Every problem is an {@link InvalidWatchException} naming the field as
 * the API's JSON writes it: an unknown field, a bad topic filter, a JSONPath that does not compile,
 * a condition that does not parse, a window that never closes.
 */
public final class WatchSpecs {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern FIELD = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,63}");
    /** Fields of the JSON form; the watches file may also write them in kebab-case. */
    private static final Set<String> TOP = Set.of("name", "topics", "extract", "window", "trigger", "prompt", "max_tokens", "temperature", "seed",
            "publish_to", "retain", "template", "source");
    private static final Set<String> WINDOW = Set.of("time", "count", "max_bytes");
    private static final Set<String> TRIGGER = Set.of("schedule", "condition", "after");
    static final long DEFAULT_MAX_BYTES = 256 * 1024;
    static final Duration DEFAULT_AFTER = Duration.ofMillis(300);
    static final int DEFAULT_MAX_TOKENS = 128;
    static final double DEFAULT_TEMPERATURE = 0.2;

    /**
     * What a watch may not do on this node.
     *
     * @param topicPrefix the node's own topic prefix: a watch may not subscribe to it (it would take requests)
     * @param maxTokens   {@code edgellm.limits.max-tokens}
     */
    public record Limits(String topicPrefix, int maxTokens) {}

    private final Limits limits;

    public WatchSpecs(Limits limits) {
        this.limits = limits;
    }

    /** A watch of the configuration tree ({@code edgellm.watches.<name>.*}). */
    public WatchSpec fromConfig(String name, EdgeLlmConfig.Watch w) {
        return check(new WatchSpec(name, w.topics(), w.extract(), w.window().time().orElse(null), w.window().count().orElse(0),
                w.window().maxBytes().asLongValue(), w.trigger().schedule(), w.trigger().condition().filter(s -> !s.isBlank()).orElse(null),
                w.trigger().after(), w.prompt().filter(s -> !s.isBlank()).orElse(null), w.maxTokens(), w.temperature(), w.seed().orElse(null),
                w.publishTo(), w.retain(), w.template().filter(s -> !s.isBlank()).orElse(null), "config"));
    }

    /** A watch in the API's JSON (or a watches file's entry, kebab-case allowed). */
    public WatchSpec fromJson(String name, JsonNode n, String source) {
        if (n == null || !n.isObject()) {
            throw new InvalidWatchException("body", "a watch is a JSON object with topics, window, publish_to, ...");
        }
        Map<String, JsonNode> top = fields(n, "", TOP);
        if (top.containsKey("name") && !top.get("name").asText().equals(name)) {
            throw new InvalidWatchException("name", "'" + top.get("name").asText() + "' differs from the name in the path, '" + name + "'");
        }
        List<String> topics = new ArrayList<>();
        JsonNode t = top.get("topics");
        if (t != null && t.isTextual()) {
            topics.add(t.asText());
        } else if (t != null && t.isArray()) {
            for (int i = 0; i < t.size(); i++) {
                if (!t.get(i).isTextual()) {
                    throw new InvalidWatchException("topics[" + i + "]", "a topic filter is a string");
                }
                topics.add(t.get(i).asText());
            }
        } else if (t != null && !t.isNull()) {
            throw new InvalidWatchException("topics", "topics is a list of MQTT topic filters");
        }
        Map<String, String> extract = new LinkedHashMap<>();
        JsonNode x = top.get("extract");
        if (x != null && !x.isNull()) {
            if (!x.isObject()) {
                throw new InvalidWatchException("extract", "extract maps field names to JSONPath expressions or topic[N]");
            }
            for (Map.Entry<String, JsonNode> e : x.properties()) {
                if (!e.getValue().isTextual()) {
                    throw new InvalidWatchException("extract." + e.getKey(), "an expression is a string");
                }
                extract.put(e.getKey(), e.getValue().asText());
            }
        }
        Map<String, JsonNode> window = object(top.get("window"), "window", WINDOW);
        Map<String, JsonNode> trigger = object(top.get("trigger"), "trigger", TRIGGER);
        return check(new WatchSpec(name, topics, extract,
                text(window.get("time"), "window.time") == null ? null : Durations.parse("window.time", window.get("time").asText()),
                integer(window.get("count"), "window.count", 0),
                window.get("max_bytes") == null || window.get("max_bytes").isNull() ? DEFAULT_MAX_BYTES
                        : window.get("max_bytes").isNumber() ? window.get("max_bytes").asLong() : Durations.bytes("window.max_bytes", window.get("max_bytes").asText()),
                bool(trigger.get("schedule"), "trigger.schedule", true), text(trigger.get("condition"), "trigger.condition"),
                text(trigger.get("after"), "trigger.after") == null ? DEFAULT_AFTER : Durations.parse("trigger.after", trigger.get("after").asText()),
                text(top.get("prompt"), "prompt"), integer(top.get("max_tokens"), "max_tokens", DEFAULT_MAX_TOKENS),
                number(top.get("temperature"), "temperature", DEFAULT_TEMPERATURE),
                top.get("seed") == null || top.get("seed").isNull() ? null : (long) integer(top.get("seed"), "seed", 0),
                text(top.get("publish_to"), "publish_to"), bool(top.get("retain"), "retain", false), text(top.get("template"), "template"), source));
    }

    /** Checks every field; returns the spec. */
    public WatchSpec check(WatchSpec s) {
        if (s.name() == null || !NAME.matcher(s.name()).matches()) {
            throw new InvalidWatchException("name", "'" + s.name() + "' is not a watch name (letters, digits, - _ ., at most 64)");
        }
        if (s.topics().isEmpty()) {
            throw new InvalidWatchException("topics", "at least one MQTT topic filter is needed");
        }
        for (int i = 0; i < s.topics().size(); i++) {
            String why = TopicFilters.problem(s.topics().get(i), limits.topicPrefix());
            if (why != null) {
                throw new InvalidWatchException("topics[" + i + "]", why);
            }
        }
        s.extract().keySet().forEach(k -> {
            if (!FIELD.matcher(k).matches()) {
                throw new InvalidWatchException("extract." + k, "'" + k + "' is not a field name (letters, digits, _ . -)");
            }
        });
        if (s.windowTime() == null && s.windowCount() == 0) {
            throw new InvalidWatchException("window", "a window needs a time (10m) and/or a count (500)");
        }
        if (s.windowTime() != null && s.windowTime().compareTo(Duration.ofSeconds(1)) < 0) {
            throw new InvalidWatchException("window.time", "a window lasts at least 1s, got " + Durations.format(s.windowTime()));
        }
        if (s.windowCount() < 0) {
            throw new InvalidWatchException("window.count", "must be at least 1, got " + s.windowCount());
        }
        if (s.maxBytes() < 1024) {
            throw new InvalidWatchException("window.max_bytes", "at least 1K, got " + s.maxBytes());
        }
        if (!s.schedule() && s.condition() == null) {
            throw new InvalidWatchException("trigger", "neither schedule nor a condition: the watch would never summarize");
        }
        if (s.after().isNegative() || s.after().compareTo(Duration.ofSeconds(10)) > 0) {
            throw new InvalidWatchException("trigger.after", "between 0 and 10s, got " + Durations.format(s.after()));
        }
        if (s.maxTokens() < 1 || s.maxTokens() > limits.maxTokens()) {
            throw new InvalidWatchException("max_tokens", "between 1 and " + limits.maxTokens() + " (edgellm.limits.max-tokens), got " + s.maxTokens());
        }
        if (!(s.temperature() >= 0 && s.temperature() <= 2)) {
            throw new InvalidWatchException("temperature", "between 0 and 2, got " + s.temperature());
        }
        if (s.publishTo() == null || s.publishTo().isBlank()) {
            throw new InvalidWatchException("publish_to", "the topic to publish summaries to is missing");
        }
        String why = TopicFilters.publishProblem(s.publishTo(), s.topics(), limits.topicPrefix());
        if (why != null) {
            throw new InvalidWatchException("publish_to", why);
        }
        CompiledWatch.compile(s); // JSONPaths, condition, template
        return s;
    }

    // ---- JSON helpers -----------------------------------------------------------------------------

    private static Map<String, JsonNode> fields(JsonNode n, String prefix, Set<String> known) {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            String k = e.getKey().replace('-', '_');
            if (!known.contains(k)) {
                throw new InvalidWatchException(prefix + e.getKey(), "unknown field; known: " + new java.util.TreeSet<>(known));
            }
            m.put(k, e.getValue());
        }
        return m;
    }

    private static Map<String, JsonNode> object(JsonNode n, String field, Set<String> known) {
        if (n == null || n.isNull()) {
            return Map.of();
        }
        if (!n.isObject()) {
            throw new InvalidWatchException(field, field + " is an object with " + known);
        }
        return fields(n, field + ".", known);
    }

    private static String text(JsonNode n, String field) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual() && !n.isNumber()) {
            throw new InvalidWatchException(field, "a string is expected");
        }
        String s = n.asText();
        return s.isBlank() ? null : s;
    }

    private static int integer(JsonNode n, String field, int dflt) {
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new InvalidWatchException(field, "a whole number is expected, got " + n);
        }
        return n.asInt();
    }

    private static double number(JsonNode n, String field, double dflt) {
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw new InvalidWatchException(field, "a number is expected, got " + n);
        }
        return n.asDouble();
    }

    private static boolean bool(JsonNode n, String field, boolean dflt) {
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new InvalidWatchException(field, "true or false is expected, got " + n);
        }
        return n.asBoolean();
    }
}
