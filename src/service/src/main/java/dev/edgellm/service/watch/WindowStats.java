package dev.edgellm.service.watch;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a window saw, over every record (also those folded away by the byte budget): records per
 * topic and per payload kind, and per field the count and, for numbers, min/max/mean, else the
 * distinct values (up to {@link #DISTINCT}), and the last value. This is the reduced form of a window
 * too large for the model's context. Not thread-safe: the owning window's lock guards it.
 */
final class WindowStats {
    /** Distinct values listed per non-numeric field. */
    static final int DISTINCT = 8;

    private final Map<String, Integer> perTopic = new TreeMap<>();
    private final Map<WatchRecord.Kind, Integer> perKind = new LinkedHashMap<>();
    private final Map<String, Field> fields = new LinkedHashMap<>();
    private int total;

    private static final class Field {
        int count;
        int numbers;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum;
        Object last;
        final Set<String> distinct = new LinkedHashSet<>();
        boolean moreDistinct;
    }

    void add(WatchRecord r) {
        total++;
        perTopic.merge(r.topic(), 1, Integer::sum);
        perKind.merge(r.kind(), 1, Integer::sum);
        for (Map.Entry<String, Object> e : r.fields().entrySet()) {
            Field f = fields.computeIfAbsent(e.getKey(), k -> new Field());
            Object v = e.getValue();
            f.count++;
            f.last = v;
            if (v instanceof Number n) {
                double d = n.doubleValue();
                if (!Double.isNaN(d)) {
                    f.numbers++;
                    f.min = Math.min(f.min, d);
                    f.max = Math.max(f.max, d);
                    f.sum += d;
                }
            } else if (v == null || v instanceof String || v instanceof Boolean) {
                String s = String.valueOf(v);
                if (f.distinct.size() < DISTINCT || f.distinct.contains(s)) {
                    f.distinct.add(s);
                } else {
                    f.moreDistinct = true;
                }
            }
        }
    }

    int total() {
        return total;
    }

    Map<String, Integer> perTopic() {
        return new LinkedHashMap<>(perTopic);
    }

    /** {@code {"json": n, "text": n, "malformed": n}}. */
    Map<String, Integer> perKind() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (WatchRecord.Kind k : WatchRecord.Kind.values()) {
            m.put(k.name().toLowerCase(Locale.ROOT), perKind.getOrDefault(k, 0));
        }
        return m;
    }

    /** Per field: {@code count}, and {@code min/max/mean} for numbers or {@code distinct} otherwise, and {@code last}. */
    Map<String, Map<String, Object>> fields() {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        fields.forEach((name, f) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("count", f.count);
            if (f.numbers > 0) {
                m.put("min", f.min);
                m.put("max", f.max);
                m.put("mean", round(f.sum / f.numbers));
            }
            if (!f.distinct.isEmpty()) {
                m.put("distinct", f.distinct.size() + (f.moreDistinct ? "+" : ""));
                m.put("values", f.distinct);
            }
            m.put("last", f.last instanceof Map<?, ?> || f.last instanceof java.util.List<?> ? String.valueOf(f.last) : f.last);
            out.put(name, m);
        });
        return out;
    }

    /** The statistics as lines for the prompt. */
    String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("Statistics of all ").append(total).append(" records:\n");
        sb.append("Records per topic: ");
        boolean first = true;
        for (Map.Entry<String, Integer> e : perTopic.entrySet()) {
            sb.append(first ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue());
            first = false;
        }
        sb.append('\n');
        Map<String, Integer> kinds = perKind();
        if (kinds.get("text") + kinds.get("malformed") > 0) {
            sb.append("Payloads: ").append(kinds.get("json")).append(" JSON, ").append(kinds.get("text")).append(" text, ")
                    .append(kinds.get("malformed")).append(" malformed\n");
        }
        fields.forEach((name, f) -> {
            sb.append("Field ").append(name).append(": ").append(f.count).append(" values");
            if (f.numbers > 0) {
                sb.append(", min ").append(num(f.min)).append(", max ").append(num(f.max)).append(", mean ").append(num(round(f.sum / f.numbers)));
            }
            if (!f.distinct.isEmpty()) {
                sb.append(", ").append(f.distinct.size()).append(f.moreDistinct ? "+" : "").append(" distinct (")
                        .append(String.join(", ", f.distinct)).append(')');
            }
            sb.append(", last ").append(f.last instanceof Number n ? num(n.doubleValue()) : String.valueOf(f.last)).append('\n');
        });
        return sb.toString();
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static String num(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }
}
