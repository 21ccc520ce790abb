package dev.edgellm.service.summary;

import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds the chat prompt of a summarization job (the MQTT intake's {@code summarize} requests)
 * from free text and/or records (sensor readings, events): records become a compact,
 * deterministic table (columns in order of first appearance, one line per record), and the input
 * is trimmed to the token budget. Trimming keeps the newest records (the end of the list) and the
 * beginning of the text, and is reported. A service feature (what a gateway's operator wants from
 * sensor data), not part of the framework-free engine: it only uses the engine's tokenizer and
 * chat template.
 */
public final class SummaryPrompt {
    /** Used when a job gives no instructions of its own. */
    public static final String DEFAULT_INSTRUCTIONS = "Summarize the following data for an operator in a few sentences: "
            + "the overall state, any anomalies (out-of-range values, errors, sudden changes) with their times, and any action needed.";

    private static final String TRIM_MARK = " [...]";

    /**
     * The prompt and what it holds.
     *
     * @param tokens        prompt token ids (BOS included), ready for generation
     * @param text          the rendered chat prompt
     * @param recordsTotal  records given
     * @param recordsUsed   records in the prompt (the newest ones)
     * @param textCharsTotal characters of text given
     * @param textCharsUsed  characters of text in the prompt (from the start)
     */
    public record Built(int[] tokens, String text, int recordsTotal, int recordsUsed, int textCharsTotal, int textCharsUsed) {
        public boolean trimmed() {
            return recordsUsed < recordsTotal || textCharsUsed < textCharsTotal;
        }

        /** What was left out, in words; empty when nothing was. */
        public String trimming() {
            if (!trimmed()) {
                return "";
            }
            List<String> parts = new ArrayList<>();
            if (recordsUsed < recordsTotal) {
                parts.add("kept the newest " + recordsUsed + " of " + recordsTotal + " records");
            }
            if (textCharsUsed < textCharsTotal) {
                parts.add("kept the first " + textCharsUsed + " of " + textCharsTotal + " characters of text");
            }
            return String.join("; ", parts) + " to fit the context";
        }
    }

    private SummaryPrompt() {}

    /**
     * Builds the prompt.
     *
     * @param maxTokens the prompt budget in tokens (context less the room kept for the answer)
     * @throws IllegalArgumentException when there is nothing to summarize, or not even the
     *                                  instructions and one record fit
     */
    public static Built build(Tokenizer tok, ChatTemplate template, String instructions, String text,
                              List<Map<String, Object>> records, int maxTokens) {
        String instr = instructions == null || instructions.isBlank() ? DEFAULT_INSTRUCTIONS : instructions.strip();
        String body = text == null ? "" : text;
        List<Map<String, Object>> recs = records == null ? List.of() : records;
        if (body.isBlank() && recs.isEmpty()) {
            throw new IllegalArgumentException("nothing to summarize: give text and/or records");
        }
        // Records first: the newest ones that fit alongside the whole text, else the whole text trimmed.
        int lo = 0;
        int hi = recs.size();
        Built full = render(tok, template, instr, body, body.length(), recs, 0);
        if (full.tokens().length <= maxTokens) {
            return full;
        }
        // How many of the newest records fit with all the text? (binary search on the count kept)
        Built best = null;
        while (lo < hi) {
            int keep = (lo + hi + 1) >>> 1;
            Built b = render(tok, template, instr, body, body.length(), recs, recs.size() - keep);
            if (b.tokens().length <= maxTokens) {
                lo = keep;
                best = b;
            } else {
                hi = keep - 1;
            }
        }
        if (best != null && (lo > 0 || recs.isEmpty())) {
            return best;
        }
        // Not even one record fits with the whole text: keep the newest record (if any) and trim the text.
        int keepRecords = recs.isEmpty() ? 0 : 1;
        int cLo = 0;
        int cHi = body.length();
        Built bestText = null;
        while (cLo < cHi) {
            int chars = (cLo + cHi + 1) >>> 1;
            Built b = render(tok, template, instr, body, chars, recs, recs.size() - keepRecords);
            if (b.tokens().length <= maxTokens) {
                cLo = chars;
                bestText = b;
            } else {
                cHi = chars - 1;
            }
        }
        if (bestText == null) {
            Built none = render(tok, template, instr, body, 0, recs, recs.size() - keepRecords);
            if (none.tokens().length > maxTokens || (none.recordsUsed() == 0 && none.textCharsUsed() == 0)) {
                throw new IllegalArgumentException("the summarization prompt needs " + none.tokens().length
                        + " tokens even with the input trimmed, more than the " + maxTokens + " available");
            }
            bestText = none;
        }
        if (bestText.recordsUsed() == 0 && bestText.textCharsUsed() == 0) {
            throw new IllegalArgumentException("no part of the input fits the " + maxTokens + " prompt tokens available");
        }
        return bestText;
    }

    private static Built render(Tokenizer tok, ChatTemplate template, String instr, String text, int textChars,
                                List<Map<String, Object>> records, int firstRecord) {
        StringBuilder sb = new StringBuilder(instr);
        List<Map<String, Object>> used = records.subList(firstRecord, records.size());
        if (textChars > 0) {
            sb.append("\n\nText:\n").append(text, 0, textChars);
            if (textChars < text.length()) {
                sb.append(TRIM_MARK);
            }
        }
        if (!used.isEmpty()) {
            sb.append("\n\nRecords (").append(used.size());
            if (firstRecord > 0) {
                sb.append(" newest of ").append(records.size());
            }
            sb.append("):\n");
            table(sb, used);
        }
        String prompt = template.render(List.of(ChatMessage.user(sb.toString())), true);
        return new Built(tok.encode(prompt, true, true), prompt, records.size(), used.size(), text.length(), textChars);
    }

    /** Renders records as a {@code |}-separated table: a header of keys in first-seen order, then one row per record. */
    static void table(StringBuilder sb, List<Map<String, Object>> records) {
        Set<String> columns = new LinkedHashSet<>();
        for (Map<String, Object> r : records) {
            columns.addAll(r.keySet());
        }
        sb.append(String.join(" | ", columns)).append('\n');
        for (Map<String, Object> r : records) {
            boolean first = true;
            for (String c : columns) {
                if (!first) {
                    sb.append(" | ");
                }
                first = false;
                if (r.containsKey(c)) {
                    value(sb, r.get(c));
                }
            }
            sb.append('\n');
        }
    }

    /** A compact, deterministic rendering of a JSON-like value. */
    static void value(StringBuilder sb, Object v) {
        switch (v) {
            case null -> sb.append("null");
            case String s -> sb.append(s.replace('\n', ' ').replace("|", "\\|"));
            case Double d -> sb.append(number(BigDecimal.valueOf(d)));
            case Float f -> sb.append(number(new BigDecimal(Float.toString(f))));
            case BigDecimal b -> sb.append(number(b));
            case Number n -> sb.append(n);
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append(first ? "" : ", ").append(e.getKey()).append('=');
                    value(sb, e.getValue());
                    first = false;
                }
                sb.append('}');
            }
            case List<?> l -> {
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    sb.append(i > 0 ? ", " : "");
                    value(sb, l.get(i));
                }
                sb.append(']');
            }
            default -> sb.append(v);
        }
    }

    private static String number(BigDecimal b) {
        String s = b.stripTrailingZeros().toPlainString();
        return s.equals("-0") ? "0" : s;
    }
}
