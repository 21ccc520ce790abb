package dev.edgellm.service.mqtt;

import static dev.edgellm.service.mqtt.RequestError.INVALID_ID;
import static dev.edgellm.service.mqtt.RequestError.INVALID_JSON;
import static dev.edgellm.service.mqtt.RequestError.INVALID_REPLY_TO;
import static dev.edgellm.service.mqtt.RequestError.INVALID_REQUEST;
import static dev.edgellm.service.mqtt.RequestError.MISSING_ID;
import static dev.edgellm.service.mqtt.RequestError.TOO_LARGE;
import static dev.edgellm.service.mqtt.RequestError.UNKNOWN_KIND;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.service.mqtt.MqttRequest.Kind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads an MQTT request payload: a JSON object with {@code id} (required), {@code kind}
 * ({@code generate}, {@code chat}, {@code summarize}; inferred from the fields when absent),
 * {@code prompt} / {@code messages} / {@code text} and {@code records}, {@code instructions},
 * {@code max_tokens}, {@code temperature}, {@code seed}, {@code reply_to}, {@code stream} (and the
 * REST API's {@code top_p}, {@code top_k}, {@code min_p}, {@code repeat_penalty},
 * {@code repeat_last_n}, {@code stop}). Unknown fields are ignored. Every problem is a
 * {@link RequestError} naming the field; the id and reply topic are read first so the error can
 * be sent where the caller listens.
 */
public final class MqttRequestParser {
    /** Longest request id (characters). */
    public static final int MAX_ID_CHARS = 128;

    private static final TypeReference<LinkedHashMap<String, Object>> RECORD = new TypeReference<>() {};

    private final ObjectMapper json;
    private final long maxPayloadBytes;

    public MqttRequestParser(ObjectMapper json, long maxPayloadBytes) {
        this.json = json;
        this.maxPayloadBytes = maxPayloadBytes;
    }

    public MqttRequest parse(byte[] payload) throws RequestError {
        if (payload.length > maxPayloadBytes) {
            String[] envelope = peekEnvelope(payload);
            throw new RequestError(envelope[0], envelope[1], TOO_LARGE, null, "the request has " + payload.length
                    + " bytes, more than this node's limit of " + maxPayloadBytes + " (edgellm.mqtt.max-payload)");
        }
        JsonNode root;
        try {
            root = json.readTree(payload);
        } catch (IOException e) {
            throw new RequestError(null, null, INVALID_JSON, null, "the payload is not JSON: " + shortReason(e));
        }
        if (root == null || root.isMissingNode()) {
            throw new RequestError(null, null, INVALID_JSON, null, "the payload is empty; send a JSON object");
        }
        if (!root.isObject()) {
            throw new RequestError(null, null, INVALID_JSON, null, "the payload must be a JSON object, not " + type(root));
        }
        String replyTo = null;
        JsonNode rt = root.get("reply_to");
        if (rt != null && !rt.isNull()) {
            if (!rt.isTextual() || !Topics.validName(rt.asText())) {
                throw new RequestError(idIfValid(root), null, INVALID_REPLY_TO, "reply_to",
                        "reply_to must be a topic name to publish to (no + or # wildcards, not empty, not a $ topic)");
            }
            replyTo = rt.asText();
        }
        JsonNode idNode = root.get("id");
        if (idNode == null || idNode.isNull()) {
            throw new RequestError(null, replyTo, MISSING_ID, "id", "the request has no id; give \"id\": a string unique to the request");
        }
        if (!idNode.isTextual()) {
            throw new RequestError(null, replyTo, INVALID_ID, "id", "id must be a string, not " + type(idNode));
        }
        String id = idNode.asText();
        if (!validId(id)) {
            throw new RequestError(null, replyTo, INVALID_ID, "id", "id must be 1 to " + MAX_ID_CHARS
                    + " characters without '/', '+', '#', spaces or control characters (it names the response topic)");
        }
        Kind kind = kind(root, id, replyTo);
        Fields f = new Fields(root, id, replyTo);
        MqttRequest.Sampling sampling = new MqttRequest.Sampling(f.integer("max_tokens"), f.number("temperature"), f.longInt("seed"),
                f.number("top_p"), f.integer("top_k"), f.number("min_p"), f.number("repeat_penalty"), f.integer("repeat_last_n"),
                root.get("stop"));
        Boolean stream = f.bool("stream");
        String instructions = f.string("instructions");
        java.time.Instant expiresAt = expiresAt(f, root.get("expires_at"));
        Double ttl = f.number("ttl_s");
        if (ttl != null && !(ttl > 0 && ttl <= 366 * 86400.0)) {
            throw f.error("ttl_s", "ttl_s must be a number of seconds above 0 (at most a year), got " + ttl);
        }
        return switch (kind) {
            case GENERATE -> {
                if (instructions != null) {
                    throw f.error("instructions", "instructions apply to chat and summarize; put them in the prompt of a generate request");
                }
                String prompt = f.string("prompt");
                if (prompt == null || prompt.isEmpty()) {
                    throw f.error("prompt", "a generate request needs a non-empty \"prompt\" string");
                }
                yield new MqttRequest(id, kind, replyTo, prompt, List.of(), null, List.of(), null, sampling, Boolean.TRUE.equals(stream), expiresAt, ttl);
            }
            case CHAT -> {
                List<ChatMessage> messages = messages(f, root.get("messages"));
                if (instructions != null && !instructions.isBlank()) {
                    if (messages.getFirst().role().equals("system")) {
                        throw f.error("instructions", "give instructions or a system message, not both");
                    }
                    messages.addFirst(new ChatMessage("system", instructions));
                }
                yield new MqttRequest(id, kind, replyTo, null, List.copyOf(messages), null, List.of(), null, sampling, Boolean.TRUE.equals(stream), expiresAt, ttl);
            }
            case SUMMARIZE -> {
                String text = f.string("text");
                List<Map<String, Object>> records = records(f, root.get("records"));
                if ((text == null || text.isBlank()) && records.isEmpty()) {
                    throw f.error("text", "a summarize request needs \"text\" and/or \"records\" (a list of JSON objects)");
                }
                yield new MqttRequest(id, kind, replyTo, null, List.of(), text, records, instructions, sampling, Boolean.TRUE.equals(stream), expiresAt, ttl);
            }
        };
    }

    /** {@code expires_at}: an ISO-8601 instant ({@code 2026-05-01T10:00:00Z}) or seconds since the epoch. */
    private static java.time.Instant expiresAt(Fields f, JsonNode n) throws RequestError {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isNumber()) {
            double s = n.doubleValue();
            if (!(s > 0 && s < 1e11)) {
                throw f.error("expires_at", "expires_at must be seconds since 1970 or an ISO-8601 time, got " + n);
            }
            return java.time.Instant.ofEpochMilli((long) (s * 1000));
        }
        if (n.isTextual()) {
            try {
                return java.time.OffsetDateTime.parse(n.asText()).toInstant();
            } catch (java.time.format.DateTimeParseException e) {
                throw f.error("expires_at", "expires_at must be an ISO-8601 time with a zone (2026-05-01T10:00:00Z) or seconds since 1970, got " + n);
            }
        }
        throw f.error("expires_at", "expires_at must be an ISO-8601 time or a number of seconds since 1970, not " + type(n));
    }

    private static Kind kind(JsonNode root, String id, String replyTo) throws RequestError {
        JsonNode k = root.get("kind");
        if (k == null || k.isNull()) {
            if (root.has("messages")) {
                return Kind.CHAT;
            }
            if (!root.has("prompt") && (root.has("records") || root.has("text"))) {
                return Kind.SUMMARIZE;
            }
            return Kind.GENERATE;
        }
        String s = k.isTextual() ? k.asText().toLowerCase(Locale.ROOT) : "";
        return switch (s) {
            case "generate" -> Kind.GENERATE;
            case "chat" -> Kind.CHAT;
            case "summarize" -> Kind.SUMMARIZE;
            default -> throw new RequestError(id, replyTo, UNKNOWN_KIND, "kind",
                    "unknown kind " + k + "; use \"generate\", \"chat\" or \"summarize\"");
        };
    }

    private static List<ChatMessage> messages(Fields f, JsonNode node) throws RequestError {
        if (node == null || !node.isArray() || node.isEmpty()) {
            throw f.error("messages", "a chat request needs \"messages\": a non-empty array of {\"role\",\"content\"}");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode m = node.get(i);
            String param = "messages[" + i + "]";
            if (!m.isObject()) {
                throw f.error(param, "a message must be an object {\"role\",\"content\"}");
            }
            String role = m.path("role").asText(null);
            if ("developer".equals(role)) {
                role = "system";
            }
            if (role == null || !(role.equals("system") || role.equals("user") || role.equals("assistant")) || !m.path("role").isTextual()) {
                throw f.error(param + ".role", "role must be system, user or assistant, got " + m.get("role"));
            }
            JsonNode c = m.get("content");
            if (c == null || !c.isTextual()) {
                throw f.error(param + ".content", "content must be a string");
            }
            out.add(new ChatMessage(role, c.asText()));
        }
        return out;
    }

    private List<Map<String, Object>> records(Fields f, JsonNode node) throws RequestError {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw f.error("records", "records must be an array of JSON objects");
        }
        List<Map<String, Object>> out = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode r = node.get(i);
            if (!r.isObject()) {
                throw f.error("records[" + i + "]", "each record must be a JSON object, got " + type(r));
            }
            out.add(json.convertValue(r, RECORD));
        }
        return out;
    }

    /** Typed access to the optional fields of a request, with errors that name the field. */
    private record Fields(JsonNode root, String id, String replyTo) {
        RequestError error(String param, String message) {
            return new RequestError(id, replyTo, INVALID_REQUEST, param, message);
        }

        private JsonNode get(String name) {
            JsonNode n = root.get(name);
            return n == null || n.isNull() ? null : n;
        }

        String string(String name) throws RequestError {
            JsonNode n = get(name);
            if (n == null) {
                return null;
            }
            if (!n.isTextual()) {
                throw error(name, name + " must be a string, not " + type(n));
            }
            return n.asText();
        }

        Integer integer(String name) throws RequestError {
            JsonNode n = get(name);
            if (n == null) {
                return null;
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw error(name, name + " must be an integer, not " + n);
            }
            return n.intValue();
        }

        Long longInt(String name) throws RequestError {
            JsonNode n = get(name);
            if (n == null) {
                return null;
            }
            if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                throw error(name, name + " must be an integer, not " + n);
            }
            return n.longValue();
        }

        Double number(String name) throws RequestError {
            JsonNode n = get(name);
            if (n == null) {
                return null;
            }
            if (!n.isNumber()) {
                throw error(name, name + " must be a number, not " + type(n));
            }
            return n.doubleValue();
        }

        Boolean bool(String name) throws RequestError {
            JsonNode n = get(name);
            if (n == null) {
                return null;
            }
            if (!n.isBoolean()) {
                throw error(name, name + " must be true or false, not " + n);
            }
            return n.booleanValue();
        }
    }

    public static boolean validId(String id) {
        return id != null && id.length() <= MAX_ID_CHARS && Topics.validLevel(id);
    }

    private static String idIfValid(JsonNode root) {
        JsonNode n = root.get("id");
        return n != null && n.isTextual() && validId(n.asText()) ? n.asText() : null;
    }

    /**
     * The id and reply topic of a payload too large to read whole: its top-level {@code id} and
     * {@code reply_to} strings, found by streaming over it; null where absent, invalid or unreadable.
     */
    String[] peekEnvelope(byte[] payload) {
        String id = null;
        String replyTo = null;
        try (JsonParser p = json.getFactory().createParser(payload)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new String[2];
            }
            while (p.nextToken() == JsonToken.FIELD_NAME && (id == null || replyTo == null)) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (v == JsonToken.VALUE_STRING && name.equals("id") && id == null) {
                    id = validId(p.getText()) ? p.getText() : null;
                } else if (v == JsonToken.VALUE_STRING && name.equals("reply_to") && replyTo == null) {
                    replyTo = Topics.validName(p.getText()) ? p.getText() : null;
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException | RuntimeException e) {
            // a broken tail: keep what was found before it
        }
        return new String[] {id, replyTo};
    }

    private static String shortReason(IOException e) {
        String m = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
        if (m == null) {
            return e.getClass().getSimpleName();
        }
        m = m.replace('\n', ' ');
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }

    private static String type(JsonNode n) {
        return switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }
}
