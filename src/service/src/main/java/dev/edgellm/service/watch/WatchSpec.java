package dev.edgellm.service.watch;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One watch as declared (configuration, watches file or API), checked: every field valid on its
 * own ({@link WatchSpecs} builds it and names the field at fault). Compiled for running by
 * {@link CompiledWatch}.
 *
 * @param name        the watch's name (letters, digits, {@code - _ .})
 * @param topics      MQTT topic filters
 * @param extract     field name to a JSONPath or {@code topic[N]}, in order; empty: the whole payload
 * @param windowTime  window length, null when only the count closes windows
 * @param windowCount records per window, 0 when only time closes windows
 * @param maxBytes    payload bytes a window keeps verbatim
 * @param schedule    summarize every window when it closes
 * @param condition   a record condition for early summaries, null when none
 * @param after       how long records are still taken after a condition matched
 * @param prompt      instructions, null for the default
 * @param maxTokens   most tokens of a summary
 * @param temperature sampling temperature
 * @param seed        sampling seed, null for a new one each time
 * @param publishTo   topic of the summaries
 * @param retain      publish retained
 * @param template    payload template, null for the JSON message
 * @param source      where it was declared: {@code config}, {@code file} or {@code api}
 */
public record WatchSpec(String name, List<String> topics, Map<String, String> extract, Duration windowTime, int windowCount, long maxBytes,
                        boolean schedule, String condition, Duration after, String prompt, int maxTokens, double temperature, Long seed,
                        String publishTo, boolean retain, String template, String source) {
    public WatchSpec {
        topics = List.copyOf(topics);
        extract = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extract));
    }

    /** The same watch from another source. */
    public WatchSpec withSource(String s) {
        return new WatchSpec(name, topics, extract, windowTime, windowCount, maxBytes, schedule, condition, after, prompt, maxTokens, temperature,
                seed, publishTo, retain, template, s);
    }

    /** The API's JSON shape (snake_case), as {@code GET /api/watches/<name>} shows it and {@code PUT} takes it. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("topics", topics);
        m.put("extract", extract);
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("time", windowTime == null ? null : Durations.format(windowTime));
        w.put("count", windowCount == 0 ? null : windowCount);
        w.put("max_bytes", maxBytes);
        m.put("window", w);
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("schedule", schedule);
        t.put("condition", condition);
        t.put("after", Durations.format(after));
        m.put("trigger", t);
        m.put("prompt", prompt);
        m.put("max_tokens", maxTokens);
        m.put("temperature", temperature);
        m.put("seed", seed);
        m.put("publish_to", publishTo);
        m.put("retain", retain);
        m.put("template", template);
        m.put("source", source);
        return m;
    }
}
