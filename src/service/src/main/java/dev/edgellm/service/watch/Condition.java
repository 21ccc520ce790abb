package dev.edgellm.service.watch;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A trigger condition on a record: clauses {@code PATH OP VALUE} or {@code PATH exists} joined with
 * {@code &&} (binds first) and {@code ||}. {@code PATH} is a JSONPath on the payload, {@code topic[N]}
 * or the name of an extracted field; {@code OP} is one of {@code > >= < <= == !=}; {@code VALUE} a
 * number, a quoted string, {@code true}, {@code false}, {@code null} or a bare word. Ordering
 * compares numbers only; a path with several values (a wildcard) matches when any value does.
 */
final class Condition {
    private static final Pattern EXISTS = Pattern.compile("(\\S+)\\s+exists");
    private static final Pattern COMPARE = Pattern.compile("(\\S+?)\\s*(>=|<=|==|!=|>|<)\\s*(.+)");

    private record Clause(String field, FieldPath path, String op, Object value) {}

    private final String text;
    /** Alternatives (||) of conjunctions (&&). */
    private final List<List<Clause>> any;

    private Condition(String text, List<List<Clause>> any) {
        this.text = text;
        this.any = any;
    }

    String text() {
        return text;
    }

    /**
     * Parses a condition.
     *
     * @param extracted the watch's extracted field names (a bare name refers to one of them)
     * @throws InvalidWatchException naming {@code field}
     */
    static Condition parse(String field, String text, java.util.Set<String> extracted) {
        if (text == null || text.isBlank()) {
            throw new InvalidWatchException(field, "the condition is empty");
        }
        List<List<Clause>> any = new ArrayList<>();
        for (String alt : text.split("\\|\\|")) {
            List<Clause> all = new ArrayList<>();
            for (String c : alt.split("&&")) {
                all.add(clause(field, c.strip(), extracted));
            }
            any.add(all);
        }
        return new Condition(text.strip(), any);
    }

    private static Clause clause(String field, String c, java.util.Set<String> extracted) {
        Matcher m = EXISTS.matcher(c);
        if (m.matches()) {
            return new Clause(m.group(1), path(field, m.group(1), extracted), "exists", null);
        }
        m = COMPARE.matcher(c);
        if (!m.matches()) {
            throw new InvalidWatchException(field, "'" + c + "' is not PATH OP VALUE (OP one of > >= < <= == !=) or PATH exists");
        }
        return new Clause(m.group(1), path(field, m.group(1), extracted), m.group(2), literal(m.group(3).strip()));
    }

    private static FieldPath path(String field, String p, java.util.Set<String> extracted) {
        if (!p.startsWith("$") && !p.startsWith("topic")) {
            if (!extracted.contains(p)) {
                throw new InvalidWatchException(field, "'" + p + "' is neither a JSONPath, topic[N], nor an extracted field " + extracted);
            }
            return null; // an extracted field, read from the record
        }
        return FieldPath.compile(field, p);
    }

    private static Object literal(String v) {
        if (v.length() >= 2 && (v.startsWith("'") && v.endsWith("'") || v.startsWith("\"") && v.endsWith("\""))) {
            return v.substring(1, v.length() - 1);
        }
        switch (v) {
            case "true" -> {
                return Boolean.TRUE;
            }
            case "false" -> {
                return Boolean.FALSE;
            }
            case "null" -> {
                return null;
            }
            default -> {
                BigDecimal n = number(v);
                return n != null ? n : v;
            }
        }
    }

    /** Whether a message matches: its topic, its payload (Jackson's maps and lists, null when not JSON) and its extracted fields. */
    boolean matches(String topic, String[] levels, Object json, Map<String, Object> fields) {
        for (List<Clause> all : any) {
            boolean ok = true;
            for (Clause c : all) {
                Object v = c.path() == null ? (fields.containsKey(c.field()) ? fields.get(c.field()) : FieldPath.ABSENT)
                        : c.path().read(topic, levels, json);
                if (!test(c, v)) {
                    ok = false;
                    break;
                }
            }
            if (ok) {
                return true;
            }
        }
        return false;
    }

    private static boolean test(Clause c, Object v) {
        if (v == FieldPath.ABSENT) {
            return false;
        }
        if (c.op().equals("exists")) {
            return true;
        }
        if (v instanceof List<?> l) {
            for (Object e : l) {
                if (compare(c, e)) {
                    return true;
                }
            }
            return false;
        }
        return compare(c, v);
    }

    private static boolean compare(Clause c, Object v) {
        Object want = c.value();
        BigDecimal a = v instanceof Number n ? number(n.toString()) : v instanceof String s ? number(s) : null;
        BigDecimal b = want instanceof BigDecimal d ? d : null;
        if (a != null && b != null) {
            int cmp = a.compareTo(b);
            return switch (c.op()) {
                case ">" -> cmp > 0;
                case ">=" -> cmp >= 0;
                case "<" -> cmp < 0;
                case "<=" -> cmp <= 0;
                case "==" -> cmp == 0;
                default -> cmp != 0;
            };
        }
        boolean equal = want == null ? v == null : v != null && String.valueOf(v).equals(String.valueOf(want));
        return switch (c.op()) {
            case "==" -> equal;
            case "!=" -> !equal;
            default -> false; // ordering compares numbers only
        };
    }

    private static BigDecimal number(String s) {
        try {
            return new BigDecimal(s.strip());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
