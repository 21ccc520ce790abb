package dev.edgellm.service.api.ollama;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.runtime.annotations.RegisterForReflection;
import java.util.List;

/** Request bodies of the Ollama API. Unknown fields are ignored, as Ollama does. */
public final class OllamaRequests {
    private OllamaRequests() {}

    /** {@code POST /api/generate}. */
    @RegisterForReflection
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Generate(String model, String prompt, String suffix, String system, String template, JsonNode context, Boolean stream,
                           Boolean raw, JsonNode format, JsonNode images, Options options, @JsonProperty("keep_alive") JsonNode keepAlive,
                           JsonNode think) {}

    /** {@code POST /api/chat}. */
    @RegisterForReflection
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Chat(String model, List<Message> messages, Boolean stream, JsonNode format, Options options,
                       @JsonProperty("keep_alive") JsonNode keepAlive, JsonNode tools, JsonNode think) {}

    /** A chat turn: {@code role} system, user or assistant, {@code content} text. */
    @RegisterForReflection
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Message(String role, String content, JsonNode images, @JsonProperty("tool_calls") JsonNode toolCalls) {}

    /** {@code POST /api/show}: {@code model} (or the older {@code name}). */
    @RegisterForReflection
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Show(String model, String name, Boolean verbose) {}

    /**
     * The {@code options} of a generation. Those that change the sampling are honoured or refused;
     * those about loading the model ({@code num_gpu}, {@code num_thread}, {@code num_batch},
     * {@code use_mmap}, ...) are the node's configuration, not a request's, and are ignored.
     */
    @RegisterForReflection
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Options(Double temperature, @JsonProperty("top_k") Integer topK, @JsonProperty("top_p") Double topP,
                          @JsonProperty("min_p") Double minP, @JsonProperty("num_predict") Integer numPredict, JsonNode stop, Long seed,
                          @JsonProperty("repeat_penalty") Double repeatPenalty, @JsonProperty("repeat_last_n") Integer repeatLastN,
                          @JsonProperty("num_ctx") Integer numCtx, @JsonProperty("presence_penalty") Double presencePenalty,
                          @JsonProperty("frequency_penalty") Double frequencyPenalty, @JsonProperty("typical_p") Double typicalP,
                          Integer mirostat, @JsonProperty("tfs_z") Double tfsZ) {
        static final Options NONE = new Options(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }
}
