package dev.edgellm.service.mqtt;

import dev.edgellm.service.engine.GenerationOutcome;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code usage} and {@code timings} objects of every MQTT answer ({@code summarize} and other
 * responses, watch summaries): token counts, and queue, prompt and decode times with their speeds.
 */
public final class OutcomeFields {
    private OutcomeFields() {}

    /** {@code {"prompt_tokens","completion_tokens","total_tokens"}}. */
    public static Map<String, Object> usage(GenerationOutcome o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_tokens", o.promptTokens());
        m.put("completion_tokens", o.completionTokens());
        m.put("total_tokens", o.totalTokens());
        return m;
    }

    /** {@code {"queue_ms","prompt_ms","prompt_tokens_per_second","time_to_first_token_ms","decode_ms","tokens_per_second"}}. */
    public static Map<String, Object> timings(GenerationOutcome o) {
        Map<String, Object> m = new LinkedHashMap<>();
        double promptMs = o.promptNanos() / 1e6;
        m.put("queue_ms", Replies.round(o.queueNanos() / 1e6));
        m.put("prompt_ms", Replies.round(promptMs));
        m.put("prompt_tokens_per_second", Replies.round(promptMs > 0 ? o.promptTokens() * 1000 / promptMs : 0));
        m.put("time_to_first_token_ms", Replies.round(o.firstTokenNanos() / 1e6));
        m.put("decode_ms", Replies.round(o.decodeNanos() / 1e6));
        m.put("tokens_per_second", Replies.round(o.tokensPerSecond()));
        return m;
    }
}
