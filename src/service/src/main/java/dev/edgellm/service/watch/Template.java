package dev.edgellm.service.watch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A response template: text with {@code {{field}}} placeholders for the top-level fields of the
 * summary message ({@link SummaryMessage#FIELDS}). Strings are put in as they are, anything else
 * as JSON; a placeholder the message does not have is refused when the watch is declared.
 */
final class Template {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\s*([a-z_]+)\\s*}}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String text;

    private Template(String text) {
        this.text = text;
    }

    /** @throws InvalidWatchException naming {@code field} for an unknown placeholder */
    static Template parse(String field, String text) {
        Matcher m = PLACEHOLDER.matcher(text);
        List<String> unknown = new ArrayList<>();
        while (m.find()) {
            if (!SummaryMessage.FIELDS.contains(m.group(1))) {
                unknown.add(m.group(1));
            }
        }
        if (!unknown.isEmpty()) {
            throw new InvalidWatchException(field, "unknown placeholder(s) " + unknown + "; known: " + Set.copyOf(SummaryMessage.FIELDS));
        }
        return new Template(text);
    }

    String render(Map<String, Object> message) {
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            Object v = message.get(m.group(1));
            String s;
            if (v == null) {
                s = "";
            } else if (v instanceof String str) {
                s = str;
            } else {
                try {
                    s = JSON.writeValueAsString(v);
                } catch (JsonProcessingException e) {
                    s = String.valueOf(v);
                }
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(s));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}
