package dev.edgellm.service.api.ollama;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.quarkus.runtime.annotations.RegisterForReflection;

/** Response bodies of the Ollama API (durations in nanoseconds, as Ollama gives them). */
public final class OllamaResponses {
    private OllamaResponses() {}

    /**
     * The counts and durations of a finished generation: {@code total_duration} from the request's
     * arrival, {@code load_duration} until the engine took it (tokenizing and waiting in the queue:
     * the model itself stays loaded), then prompt processing and generation.
     */
    @RegisterForReflection
    public record Done(@JsonProperty("done_reason") String doneReason, @JsonProperty("total_duration") long totalDuration,
                       @JsonProperty("load_duration") long loadDuration, @JsonProperty("prompt_eval_count") int promptEvalCount,
                       @JsonProperty("prompt_eval_duration") long promptEvalDuration, @JsonProperty("eval_count") int evalCount,
                       @JsonProperty("eval_duration") long evalDuration) {}

    /** A line of {@code /api/generate}: a piece of the answer, or (done) the whole of it or nothing, with the counts. */
    @RegisterForReflection
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record GenerateLine(String model, @JsonProperty("created_at") String createdAt, String response, boolean done,
                               @JsonProperty("done_reason") String doneReason, @JsonProperty("total_duration") Long totalDuration,
                               @JsonProperty("load_duration") Long loadDuration, @JsonProperty("prompt_eval_count") Integer promptEvalCount,
                               @JsonProperty("prompt_eval_duration") Long promptEvalDuration, @JsonProperty("eval_count") Integer evalCount,
                               @JsonProperty("eval_duration") Long evalDuration) {
        static GenerateLine piece(String model, String createdAt, String text) {
            return new GenerateLine(model, createdAt, text, false, null, null, null, null, null, null, null);
        }

        static GenerateLine done(String model, String createdAt, String text, Done d) {
            return new GenerateLine(model, createdAt, text, true, d.doneReason(), d.totalDuration(), d.loadDuration(), d.promptEvalCount(),
                    d.promptEvalDuration(), d.evalCount(), d.evalDuration());
        }
    }

    /** An assistant message. */
    @RegisterForReflection
    public record Message(String role, String content) {}

    /** A line of {@code /api/chat}. */
    @RegisterForReflection
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ChatLine(String model, @JsonProperty("created_at") String createdAt, Message message, boolean done,
                           @JsonProperty("done_reason") String doneReason, @JsonProperty("total_duration") Long totalDuration,
                           @JsonProperty("load_duration") Long loadDuration, @JsonProperty("prompt_eval_count") Integer promptEvalCount,
                           @JsonProperty("prompt_eval_duration") Long promptEvalDuration, @JsonProperty("eval_count") Integer evalCount,
                           @JsonProperty("eval_duration") Long evalDuration) {
        static ChatLine piece(String model, String createdAt, String text) {
            return new ChatLine(model, createdAt, new Message("assistant", text), false, null, null, null, null, null, null, null);
        }

        static ChatLine done(String model, String createdAt, String text, Done d) {
            return new ChatLine(model, createdAt, new Message("assistant", text), true, d.doneReason(), d.totalDuration(), d.loadDuration(),
                    d.promptEvalCount(), d.promptEvalDuration(), d.evalCount(), d.evalDuration());
        }
    }
}
