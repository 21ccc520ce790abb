package dev.edgellm.service.watch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.jayway.jsonpath.Configuration;
import com.jayway.jsonpath.InvalidPathException;
import com.jayway.jsonpath.JsonPath;
import com.jayway.jsonpath.spi.json.JacksonJsonProvider;
import com.jayway.jsonpath.spi.mapper.JacksonMappingProvider;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a field's value comes from: a JSONPath on the JSON payload (Jayway JsonPath on Jackson's
 * maps and lists), a level of the topic ({@code topic[2]}, counted from 0), or the whole topic.
 */
abstract sealed class FieldPath {
    private static final Pattern TOPIC_LEVEL = Pattern.compile("topic\\[(\\d{1,3})]");
    /** Jayway on plain Java maps and lists as Jackson reads them. */
    static final Configuration JSON_PATH = Configuration.builder().jsonProvider(new JacksonJsonProvider(new ObjectMapper()))
            .mappingProvider(new JacksonMappingProvider(new ObjectMapper())).build();

    /** Marks "no value" (a missing path), as opposed to a JSON null. */
    static final Object ABSENT = new Object();

    /** The expression as written. */
    abstract String expression();

    /**
     * The value in a message: {@link #ABSENT} when the path is not there.
     *
     * @param levels the topic's levels
     * @param json   the payload as Jackson reads it (maps, lists, strings, numbers), null when it is not JSON
     */
    abstract Object read(String topic, String[] levels, Object json);

    /**
     * Compiles {@code expression}.
     *
     * @throws InvalidWatchException naming {@code field} when it is neither a JSONPath nor a topic reference
     */
    static FieldPath compile(String field, String expression) {
        String e = expression == null ? "" : expression.strip();
        if (e.isEmpty()) {
            throw new InvalidWatchException(field, "an expression is missing (a JSONPath like $.temp_c, or topic[N])");
        }
        if (e.equals("topic")) {
            return new WholeTopic();
        }
        Matcher m = TOPIC_LEVEL.matcher(e);
        if (m.matches()) {
            return new TopicLevel(e, Integer.parseInt(m.group(1)));
        }
        if (!e.startsWith("$")) {
            throw new InvalidWatchException(field, "'" + e + "' is neither a JSONPath (starting with $) nor topic / topic[N]");
        }
        try {
            return new Json(e, JsonPath.compile(e));
        } catch (InvalidPathException | IllegalArgumentException e2) {
            throw new InvalidWatchException(field, "'" + e + "' is not a valid JSONPath: " + e2.getMessage());
        }
    }

    static final class WholeTopic extends FieldPath {
        @Override
        String expression() {
            return "topic";
        }

        @Override
        Object read(String topic, String[] levels, Object json) {
            return topic;
        }
    }

    static final class TopicLevel extends FieldPath {
        private final String expression;
        private final int index;

        TopicLevel(String expression, int index) {
            this.expression = expression;
            this.index = index;
        }

        @Override
        String expression() {
            return expression;
        }

        @Override
        Object read(String topic, String[] levels, Object json) {
            return index < levels.length ? levels[index] : ABSENT;
        }
    }

    static final class Json extends FieldPath {
        private final String expression;
        private final JsonPath path;

        Json(String expression, JsonPath path) {
            this.expression = expression;
            this.path = path;
        }

        @Override
        String expression() {
            return expression;
        }

        @Override
        Object read(String topic, String[] levels, Object json) {
            if (json == null) {
                return ABSENT;
            }
            Object v;
            try {
                v = path.read(json, JSON_PATH);
            } catch (RuntimeException e) {
                return ABSENT; // not there, or a path that does not fit this document's shape
            }
            if (v instanceof java.util.List<?> l && !path.isDefinite() && l.isEmpty()) {
                return ABSENT;
            }
            return v;
        }
    }
}
