package dev.edgellm.service.api.openai;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.util.List;

/**
 * {@code POST /v1/chat/completions}. OpenAI's fields plus llama.cpp's extensions {@code top_k},
 * {@code min_p}, {@code repeat_penalty}, {@code repeat_last_n} and {@code ignore_eos}; unknown
 * fields are ignored.
 */
@RegisterForReflection
@JsonIgnoreProperties(ignoreUnknown = true)
public record ChatCompletionRequest(
        String model,
        List<Message> messages,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        @JsonProperty("top_k") Integer topK,
        @JsonProperty("min_p") Double minP,
        Long seed,
        @JsonProperty("max_tokens") Integer maxTokens,
        @JsonProperty("max_completion_tokens") Integer maxCompletionTokens,
        JsonNode stop,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        Integer n,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        @JsonProperty("repeat_penalty") Double repeatPenalty,
        @JsonProperty("repeat_last_n") Integer repeatLastN,
        @JsonProperty("ignore_eos") Boolean ignoreEos,
        Boolean logprobs,
        JsonNode tools) implements OpenAiFields {

    /** One chat turn; {@code content} is a string or an array of {@code {"type":"text","text":...}} parts. */
    @RegisterForReflection
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Message(String role, JsonNode content, String name) {}

    /** {@code max_completion_tokens} (the newer name) or {@code max_tokens}. */
    @Override
    public Integer maxTokens() {
        return maxCompletionTokens != null ? maxCompletionTokens : maxTokens;
    }
}
