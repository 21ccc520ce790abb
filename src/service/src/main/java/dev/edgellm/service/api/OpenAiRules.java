package dev.edgellm.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.service.api.openai.ChatCompletionRequest;
import dev.edgellm.service.api.openai.OpenAiFields;
import dev.edgellm.service.request.RequestRules;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

/**
 * What only the OpenAI-compatible API checks, on top of the {@link RequestRules} every intake
 * shares: options we do not support ({@code n} > 1, {@code logprobs}, presence and frequency
 * penalties), streaming options, and OpenAI's chat message shape.
 */
@ApplicationScoped
public class OpenAiRules {
    @Inject
    RequestRules rules;

    /** A checked request: the shared part and how to answer it. */
    public record Checked(RequestRules.Checked base, boolean stream, boolean includeUsage) {}

    /** Checks everything that does not need the model: counts, ranges, unsupported options. */
    public Checked check(OpenAiFields f) {
        if (f.n() != null && f.n() != 1) {
            throw ApiException.invalid("n", "only n = 1 is supported (one choice per request)");
        }
        if (Boolean.TRUE.equals(f.logprobs())) {
            throw ApiException.invalid("logprobs", "logprobs are not supported");
        }
        if (f.presencePenalty() != null && f.presencePenalty() != 0) {
            throw ApiException.invalid("presence_penalty", "presence_penalty is not supported; use repeat_penalty (e.g. 1.1)");
        }
        if (f.frequencyPenalty() != null && f.frequencyPenalty() != 0) {
            throw ApiException.invalid("frequency_penalty", "frequency_penalty is not supported; use repeat_penalty (e.g. 1.1)");
        }
        RequestRules.Checked base = rules.check(f);
        boolean stream = Boolean.TRUE.equals(f.stream());
        if (f.streamOptions() != null && !stream) {
            throw ApiException.invalid("stream_options", "stream_options is only allowed with stream: true");
        }
        boolean includeUsage = f.streamOptions() != null && Boolean.TRUE.equals(f.streamOptions().includeUsage());
        return new Checked(base, stream, includeUsage);
    }

    /** Chat messages in engine terms: roles system (or developer), user, assistant; text content only. */
    public List<ChatMessage> messages(ChatCompletionRequest r) {
        if (r.tools() != null && !r.tools().isNull() && !(r.tools().isArray() && r.tools().isEmpty())) {
            throw ApiException.invalid("tools", "tools (function calling) are not supported");
        }
        if (r.messages() == null || r.messages().isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < r.messages().size(); i++) {
            ChatCompletionRequest.Message m = r.messages().get(i);
            String param = "messages[" + i + "]";
            if (m == null) {
                throw ApiException.invalid(param, "a message may not be null");
            }
            String role = m.role() == null ? null : m.role().equals("developer") ? "system" : m.role();
            if (role == null || !(role.equals("system") || role.equals("user") || role.equals("assistant"))) {
                throw ApiException.invalid(param + ".role", "role must be system, developer, user or assistant, got " + m.role());
            }
            out.add(new ChatMessage(role, content(m.content(), param + ".content")));
        }
        return out;
    }

    private static String content(JsonNode c, String param) {
        if (c == null || c.isNull()) {
            throw ApiException.invalid(param, "message content is missing");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.invalid(param, "only text content parts ({\"type\":\"text\",\"text\":...}) are supported");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.invalid(param, "content must be a string or an array of text parts");
    }
}
