package dev.edgellm.service.watch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A watch ready to run: its field paths, condition and template compiled. Turns a message into a
 * {@link WatchRecord} and says whether it fires the condition; never throws on a payload.
 */
public final class CompiledWatch {
    /** Longest text (characters) kept of a non-JSON payload. */
    static final int TEXT_CHARS = 200;
    /** Characters kept of a malformed payload. */
    static final int MALFORMED_CHARS = 80;
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final WatchSpec spec;
    private final Map<String, FieldPath> fields;
    private final Condition condition;
    private final Template template;

    private CompiledWatch(WatchSpec spec, Map<String, FieldPath> fields, Condition condition, Template template) {
        this.spec = spec;
        this.fields = fields;
        this.condition = condition;
        this.template = template;
    }

    /**
     * Compiles a checked spec.
     *
     * @throws InvalidWatchException naming the field whose expression does not compile
     */
    public static CompiledWatch compile(WatchSpec spec) {
        Map<String, FieldPath> f = new LinkedHashMap<>();
        spec.extract().forEach((name, expr) -> f.put(name, FieldPath.compile("extract." + name, expr)));
        Condition c = spec.condition() == null ? null : Condition.parse("trigger.condition", spec.condition(), f.keySet());
        Template t = spec.template() == null ? null : Template.parse("template", spec.template());
        return new CompiledWatch(spec, f, c, t);
    }

    public WatchSpec spec() {
        return spec;
    }

    public String name() {
        return spec.name();
    }

    Template template() {
        return template;
    }

    /** A message made into a record, and whether it fires the trigger condition. */
    record Taken(WatchRecord record, boolean fires) {}

    /** Reads a message; a payload that is not JSON is kept as text or counted as malformed. */
    Taken take(String topic, byte[] payload, Instant at) {
        String[] levels = topic.split("/", -1);
        String text = utf8(payload);
        Object json = null;
        WatchRecord.Kind kind;
        if (text == null) {
            kind = WatchRecord.Kind.MALFORMED;
        } else {
            try {
                json = text.isBlank() ? null : JSON.readValue(text, Object.class);
                kind = json == null && text.isBlank() ? WatchRecord.Kind.TEXT : WatchRecord.Kind.JSON;
            } catch (JsonProcessingException e) {
                String s = text.stripLeading();
                kind = s.startsWith("{") || s.startsWith("[") || s.startsWith("\"") ? WatchRecord.Kind.MALFORMED : WatchRecord.Kind.TEXT;
            }
        }
        Map<String, Object> values = new LinkedHashMap<>();
        switch (kind) {
            case JSON -> {
                if (fields.isEmpty()) {
                    values.put("payload", json);
                }
                for (Map.Entry<String, FieldPath> e : fields.entrySet()) {
                    Object v = e.getValue().read(topic, levels, json);
                    if (v != FieldPath.ABSENT) {
                        values.put(e.getKey(), v);
                    }
                }
            }
            case TEXT -> {
                topicFields(topic, levels, values);
                values.put("text", cut(text.strip(), TEXT_CHARS));
            }
            case MALFORMED -> {
                topicFields(topic, levels, values);
                values.put("malformed", text == null ? payload.length + " bytes, not UTF-8" : cut(text.strip(), MALFORMED_CHARS));
            }
        }
        boolean fires = false;
        if (condition != null) {
            try {
                fires = condition.matches(topic, levels, json, values);
            } catch (RuntimeException e) {
                fires = false; // a value of an unexpected shape: no match
            }
        }
        return new Taken(new WatchRecord(at, topic, kind, values, payload.length), fires);
    }

    /** The topic fields still apply to a payload that is not JSON. */
    private void topicFields(String topic, String[] levels, Map<String, Object> values) {
        for (Map.Entry<String, FieldPath> e : fields.entrySet()) {
            if (!(e.getValue() instanceof FieldPath.Json)) {
                Object v = e.getValue().read(topic, levels, null);
                if (v != FieldPath.ABSENT) {
                    values.put(e.getKey(), v);
                }
            }
        }
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }

    /** The payload as text, null when it is not valid UTF-8 (or holds control characters other than white space). */
    private static String utf8(byte[] payload) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(payload)).toString();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (Character.isISOControl(c) && !Character.isWhitespace(c)) {
                    return null;
                }
            }
            return s;
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
