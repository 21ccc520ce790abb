package dev.edgellm.service.api.openai;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * {@code POST /v1/completions}: {@code prompt} is a string, an array holding one string, or an
 * array of token ids; the sampling fields are those of chat completions.
 */
@RegisterForReflection
@JsonIgnoreProperties(ignoreUnknown = true)
public record CompletionRequest(
        String model,
        JsonNode prompt,
        Double temperature,
        @JsonProperty("top_p") Double topP,
        @JsonProperty("top_k") Integer topK,
        @JsonProperty("min_p") Double minP,
        Long seed,
        @JsonProperty("max_tokens") Integer maxTokens,
        JsonNode stop,
        Boolean stream,
        @JsonProperty("stream_options") StreamOptions streamOptions,
        Integer n,
        @JsonProperty("best_of") Integer bestOf,
        Boolean echo,
        String suffix,
        @JsonProperty("presence_penalty") Double presencePenalty,
        @JsonProperty("frequency_penalty") Double frequencyPenalty,
        @JsonProperty("repeat_penalty") Double repeatPenalty,
        @JsonProperty("repeat_last_n") Integer repeatLastN,
        @JsonProperty("ignore_eos") Boolean ignoreEos,
        Boolean logprobs) implements OpenAiFields {
}
