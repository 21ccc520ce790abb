package dev.edgellm.service.api.ollama;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.service.api.ApiException;
import dev.edgellm.service.request.RequestRules;
import dev.edgellm.service.api.ollama.OllamaRequests.Options;
import dev.edgellm.service.request.SamplingFields;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks an Ollama request: what EdgeLLM does not do (images, tools, thinking, structured output)
 * is refused by name, the messages are turned into chat turns, and {@code options} become the
 * OpenAI API's checked sampling fields ({@link RequestRules}) and the context the request may use
 * ({@code num_ctx}, up to the one the node allocated).
 */
@ApplicationScoped
public class OllamaRequestRules {
    @Inject
    EngineService engine;
    @Inject
    RequestRules rules;
    @Inject
    OllamaModels models;
    @Inject
    EdgeLlmConfig config;

    static boolean present(JsonNode n) {
        return n != null && !n.isNull() && !(n.isArray() && n.isEmpty()) && !(n.isTextual() && n.asText().isEmpty());
    }

    void refuseImages(JsonNode images, String param) {
        if (present(images)) {
            throw ApiException.invalid(param, "images are not supported: this node's model reads text only");
        }
    }

    void refuseFormat(JsonNode format) {
        if (present(format)) {
            throw ApiException.invalid("format", "format (JSON or schema-constrained output) is not supported");
        }
    }

    /** {@code think}: false is what a model without thinking does anyway; anything else is refused as Ollama refuses it. */
    void refuseThinking(JsonNode think) {
        if (think != null && !think.isNull() && !(think.isBoolean() && !think.asBoolean())) {
            throw ApiException.invalid("think", "\"" + models.name() + "\" does not support thinking");
        }
    }

    List<ChatMessage> messages(List<OllamaRequests.Message> in, String model) {
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            OllamaRequests.Message m = in.get(i);
            String param = "messages[" + i + "]";
            if (m == null) {
                throw ApiException.invalid(param, "a message may not be null");
            }
            if ("tool".equals(m.role()) || present(m.toolCalls())) {
                throw ApiException.invalid(param, "\"" + model + "\" does not support tools");
            }
            if (m.role() == null || !(m.role().equals("system") || m.role().equals("user") || m.role().equals("assistant"))) {
                throw ApiException.invalid(param + ".role", "role must be system, user or assistant, got " + m.role());
            }
            refuseImages(m.images(), param + ".images");
            out.add(new ChatMessage(m.role(), m.content() == null ? "" : m.content()));
        }
        return out;
    }

    /** The checked sampling options and the context the request may use. */
    record Prepared(RequestRules.Checked checked, int context) {}

    Prepared prepare(Options options) {
        Options o = options == null ? Options.NONE : options;
        if (o.typicalP() != null && o.typicalP() != 1.0) {
            throw ApiException.invalid("options.typical_p", "typical_p is not supported (leave it at 1.0); use top_p or min_p");
        }
        if (o.mirostat() != null && o.mirostat() != 0) {
            throw ApiException.invalid("options.mirostat", "mirostat sampling is not supported (leave it at 0)");
        }
        if (o.tfsZ() != null && o.tfsZ() != 1.0) {
            throw ApiException.invalid("options.tfs_z", "tail-free sampling is not supported (leave tfs_z at 1.0)");
        }
        if (o.presencePenalty() != null && o.presencePenalty() != 0) {
            throw ApiException.invalid("options.presence_penalty", "presence_penalty is not supported; use repeat_penalty (e.g. 1.1)");
        }
        if (o.frequencyPenalty() != null && o.frequencyPenalty() != 0) {
            throw ApiException.invalid("options.frequency_penalty", "frequency_penalty is not supported; use repeat_penalty (e.g. 1.1)");
        }
        engine.requireReady();
        int loaded = engine.context();
        int context = loaded;
        if (o.numCtx() != null) {
            if (o.numCtx() < 1) {
                throw ApiException.invalid("options.num_ctx", "num_ctx must be at least 1, got " + o.numCtx());
            }
            if (o.numCtx() > loaded) {
                throw ApiException.invalid("options.num_ctx", "context_length_exceeded", "num_ctx " + o.numCtx() + " is more than the "
                        + loaded + " tokens of context this node allocated at startup (" + contextLimit() + "): use num_ctx <= " + loaded);
            }
            context = o.numCtx();
        }
        Integer maxTokens = null;
        if (o.numPredict() != null) {
            int n = o.numPredict();
            if (n == -1 || n == -2) {
                maxTokens = config.limits().maxTokens(); // until the context is full, within the server's limit
            } else if (n < 1) {
                throw ApiException.invalid("options.num_predict", "num_predict must be at least 1, or -1 (until the context is full), got " + n);
            } else {
                maxTokens = n;
            }
        }
        Integer lastN = o.repeatLastN() != null && o.repeatLastN() == -1 ? Integer.valueOf(context) : o.repeatLastN();
        return new Prepared(rules.check(new Sampling(o, maxTokens, lastN)), context);
    }

    /** What bounds the node's context, in words. */
    private String contextLimit() {
        int requested = engine.requestedContext();
        if (engine.context() < requested) {
            return "edgellm.context asks for " + requested + ", the memory limit fits " + engine.context();
        }
        if (requested < config.context()) {
            return "the model was trained for " + requested + " tokens";
        }
        return "edgellm.context = " + config.context();
    }

    /** Ollama's options as the sampling fields the request rules check. */
    record Sampling(Options o, Integer maxTokens, Integer repeatLastN) implements SamplingFields {
        @Override
        public Double temperature() {
            return o.temperature();
        }

        @Override
        public Double topP() {
            return o.topP();
        }

        @Override
        public Integer topK() {
            return o.topK();
        }

        @Override
        public Double minP() {
            return o.minP();
        }

        @Override
        public Long seed() {
            return o.seed();
        }

        @Override
        public JsonNode stop() {
            return o.stop();
        }






        @Override
        public Double repeatPenalty() {
            return o.repeatPenalty();
        }

        @Override
        public Boolean ignoreEos() {
            return null;
        }

    }
}
