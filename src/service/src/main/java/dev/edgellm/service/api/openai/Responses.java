package dev.edgellm.service.api.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.util.List;

/** Response bodies in OpenAI's formats (and llama.cpp's {@code timings} extension). */
public final class Responses {
    private Responses() {}

    @RegisterForReflection
    public record Usage(@JsonProperty("prompt_tokens") int promptTokens, @JsonProperty("completion_tokens") int completionTokens,
                        @JsonProperty("total_tokens") int totalTokens) {}

    /** Timings in milliseconds, as llama.cpp's server reports them. */
    @RegisterForReflection
    public record Timings(@JsonProperty("queue_ms") double queueMs, @JsonProperty("prompt_n") int promptN,
                          @JsonProperty("prompt_ms") double promptMs, @JsonProperty("prompt_per_second") double promptPerSecond,
                          @JsonProperty("predicted_n") int predictedN, @JsonProperty("predicted_ms") double predictedMs,
                          @JsonProperty("predicted_per_second") double predictedPerSecond,
                          @JsonProperty("first_token_ms") double firstTokenMs) {}

    @RegisterForReflection
    public record ChatMessageOut(String role, String content) {}

    @RegisterForReflection
    public record ChatChoice(int index, ChatMessageOut message, Object logprobs, @JsonProperty("finish_reason") String finishReason) {}

    @RegisterForReflection
    public record ChatCompletion(String id, String object, long created, String model, List<ChatChoice> choices, Usage usage,
                                 @JsonProperty("system_fingerprint") String systemFingerprint, Timings timings,
                                 @JsonProperty("truncated_by") @JsonInclude(JsonInclude.Include.NON_NULL) String truncatedBy) {}

    @RegisterForReflection
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content) {}

    @RegisterForReflection
    public record ChunkChoice(int index, Delta delta, Object logprobs, @JsonProperty("finish_reason") String finishReason) {}

    @RegisterForReflection
    public record ChatChunk(String id, String object, long created, String model,
                            @JsonProperty("system_fingerprint") String systemFingerprint, List<ChunkChoice> choices,
                            @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage,
                            @JsonProperty("truncated_by") @JsonInclude(JsonInclude.Include.NON_NULL) String truncatedBy) {}

    @RegisterForReflection
    public record CompletionChoice(String text, int index, Object logprobs, @JsonProperty("finish_reason") String finishReason) {}

    @RegisterForReflection
    public record Completion(String id, String object, long created, String model,
                             @JsonProperty("system_fingerprint") String systemFingerprint, List<CompletionChoice> choices,
                             @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage,
                             @JsonInclude(JsonInclude.Include.NON_NULL) Timings timings,
                             @JsonProperty("truncated_by") @JsonInclude(JsonInclude.Include.NON_NULL) String truncatedBy) {}

    @RegisterForReflection
    public record ModelCard(String id, String object, long created, @JsonProperty("owned_by") String ownedBy,
                            @JsonProperty("context_length") int contextLength) {}

    @RegisterForReflection
    public record ModelList(String object, List<ModelCard> data) {}

    @RegisterForReflection
    public record ErrorDetail(String message, String type, String param, String code) {}

    @RegisterForReflection
    public record ErrorBody(ErrorDetail error) {}
}
