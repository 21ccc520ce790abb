package dev.edgellm.service.watch;

import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.mqtt.OutcomeFields;
import dev.edgellm.service.watch.Window.ClosedWindow;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The message a watch publishes for a window: which watch and node, the window's start and end and
 * what closed it, the record counts (per topic and per payload kind), the extracted fields'
 * statistics, how the window was reduced to fit the context (null when it was not), the text, and
 * usage and timings as in the MQTT intake's {@code summarize} responses.
 */
final class SummaryMessage {
    /** The top-level fields, in order (also the placeholders a response template may use). */
    static final List<String> FIELDS = List.of("watch", "node", "model", "window_start", "window_end", "trigger", "triggered_by", "records",
            "records_per_topic", "payloads", "fields", "reduced", "text", "finish_reason", "usage", "timings");

    private SummaryMessage() {}

    static Map<String, Object> build(String watch, String node, String model, ClosedWindow w, Map<String, Object> reduced, GenerationOutcome o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("watch", watch);
        m.put("node", node);
        m.put("model", model);
        m.put("window_start", w.start().toString());
        m.put("window_end", w.end().toString());
        m.put("trigger", w.trigger());
        m.put("triggered_by", w.triggeredBy() == null ? null : WindowPrompt.row(w.triggeredBy()));
        m.put("records", w.total());
        m.put("records_per_topic", w.stats().perTopic());
        m.put("payloads", w.stats().perKind());
        m.put("fields", w.stats().fields());
        m.put("reduced", reduced);
        m.put("text", o.text());
        m.put("finish_reason", o.finishReason().openAi());
        m.put("usage", OutcomeFields.usage(o));
        m.put("timings", OutcomeFields.timings(o));
        return m;
    }
}
