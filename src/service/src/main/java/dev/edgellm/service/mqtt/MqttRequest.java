package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.service.request.SamplingFields;
import java.util.List;
import java.util.Map;

/**
 * A request read from {@code <prefix>/<node>/requests} or {@code <prefix>/all/requests}, checked
 * for shape (the model-dependent checks, prompt length against the limits and the context, come
 * when it is tokenized).
 *
 * @param id           the caller's id, echoed in the response and used to recognize duplicates
 * @param kind         what to do
 * @param replyTo      the caller's reply topic, null for {@code <prefix>/<node>/responses/<id>}
 * @param prompt       {@code generate}: the plain prompt
 * @param messages     {@code chat}: the conversation ({@code instructions} already prepended as a system message)
 * @param text         {@code summarize}: free text, may be null
 * @param records      {@code summarize}: records (JSON objects), may be empty
 * @param instructions {@code summarize}: what to do with the data, null for the default
 * @param sampling     max_tokens, temperature, seed and the other sampling fields
 * @param stream       send text chunks to {@code <reply topic>/stream} as they are generated
 * @param expiresAt    {@code expires_at}: answer {@code expired} instead of running it after this instant; null for none
 * @param ttlSeconds   {@code ttl_s}: the same, counted from when this node received it; null for none
 */
public record MqttRequest(String id, Kind kind, String replyTo, String prompt, List<ChatMessage> messages, String text,
                          List<Map<String, Object>> records, String instructions, Sampling sampling, boolean stream,
                          java.time.Instant expiresAt, Double ttlSeconds) {

    /** When the work goes stale, for a request received at {@code receivedAt}; null when never. */
    public java.time.Instant deadline(java.time.Instant receivedAt) {
        java.time.Instant ttl = ttlSeconds == null ? null : receivedAt.plusMillis((long) Math.ceil(ttlSeconds * 1000));
        if (ttl == null) {
            return expiresAt;
        }
        return expiresAt == null || ttl.isBefore(expiresAt) ? ttl : expiresAt;
    }

    /** What a request asks for. */
    public enum Kind {
        GENERATE, CHAT, SUMMARIZE;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The sampling fields of an MQTT request, in the REST API's terms so the same rules check them. */
    public record Sampling(Integer maxTokens, Double temperature, Long seed, Double topP, Integer topK, Double minP, Double repeatPenalty,
                           Integer repeatLastN, JsonNode stop) implements SamplingFields {
    }
}
