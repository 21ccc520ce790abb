package dev.edgellm.service.watch;

import dev.edgellm.service.summary.SummaryPrompt;
import dev.edgellm.service.watch.Window.ClosedWindow;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The prompt of a closed window, within the token budget (the model's context less the summary's
 * {@code max_tokens}, at most {@code max-prompt-tokens}). Every record verbatim when that fits;
 * otherwise the window is <b>reduced</b> first (per-field min/max/mean/last and counts per topic over
 * all its records, see {@link WindowStats}) and then <b>trimmed</b> oldest-first (as many of the
 * newest records verbatim as fit beside the statistics; {@link SummaryPrompt} does the trimming).
 * Records folded away by the byte budget make a window reduced too. What was done is reported.
 */
final class WindowPrompt {
    static final String DEFAULT_INSTRUCTIONS = "You watch sensor data from MQTT topics. Summarize this time window for an operator in a few "
            + "sentences: the overall state per device or topic, anomalies (out-of-range values, alarms, errors, sudden changes) with their "
            + "times, and any action needed.";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

    /** Builds a prompt (the engine's {@code summaryPrompt}: chat template and tokenizer of the loaded model). */
    @FunctionalInterface
    interface Builder {
        SummaryPrompt.Built build(String instructions, String text, List<Map<String, Object>> records, int budget);
    }

    /** The prompt, and how the window was reduced (null when it went in whole). */
    record Prepared(SummaryPrompt.Built built, Map<String, Object> reduced) {}

    private WindowPrompt() {}

    /** @throws IllegalArgumentException when not even the statistics fit the budget */
    static Prepared prepare(ClosedWindow w, String prompt, int budget, Builder b) {
        String instructions = prompt == null ? DEFAULT_INSTRUCTIONS : prompt;
        List<Map<String, Object>> records = rows(w.records());
        // compact: every digit is a token in many vocabularies, and prompt tokens are what an early summary waits for
        String header = "Window " + TIME.format(w.start()) + "-" + TIME.format(w.end()) + " UTC: " + w.total() + " records, "
                + w.stats().perTopic().size() + " topics." + (w.triggeredBy() == null ? "" : " Closed early by the record at "
                + TIME.format(w.triggeredBy().at()) + " on " + w.triggeredBy().topic() + ".");
        if (w.folded() == 0) {
            SummaryPrompt.Built whole = b.build(instructions, header, records, budget);
            if (!whole.trimmed()) {
                return new Prepared(whole, null);
            }
        }
        String text = header + "\n" + w.stats().render();
        SummaryPrompt.Built reduced = b.build(instructions, text, records, budget);
        Map<String, Object> how = new LinkedHashMap<>();
        how.put("statistics", "per-field count/min/max/mean/last and counts per topic over all " + w.total() + " records");
        how.put("records_total", w.total());
        how.put("records_verbatim", reduced.recordsUsed());
        how.put("records_trimmed_oldest", w.records().size() - reduced.recordsUsed());
        how.put("records_folded_by_byte_budget", w.folded());
        how.put("statistics_trimmed", reduced.textCharsUsed() < reduced.textCharsTotal());
        how.put("prompt_token_budget", budget);
        how.put("summary", "the window's " + w.total() + " records went in as statistics (per-field min/max/mean/last, counts per topic) with the newest "
                + reduced.recordsUsed() + " verbatim; " + (w.total() - reduced.recordsUsed()) + " older records were left out"
                + (w.folded() > 0 ? " (" + w.folded() + " of them beyond the window's byte budget)" : "") + " to fit " + budget + " prompt tokens");
        return new Prepared(reduced, how);
    }

    /** Records as table rows: time, topic, then the extracted fields. */
    static List<Map<String, Object>> rows(List<WatchRecord> records) {
        List<Map<String, Object>> rows = new ArrayList<>(records.size());
        for (WatchRecord r : records) {
            rows.add(row(r));
        }
        return rows;
    }

    static Map<String, Object> row(WatchRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", TIME.format(r.at()));
        m.put("topic", r.topic());
        m.putAll(r.fields());
        return m;
    }
}
