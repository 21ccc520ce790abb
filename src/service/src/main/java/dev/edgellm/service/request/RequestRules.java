package dev.edgellm.service.request;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.sampling.SamplingParams;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.GenerationRequest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks request fields against the limits and turns them into engine terms, for every intake
 * (REST, MQTT): the same request is accepted or refused the same way whichever way it came. Every
 * rejection is an {@link InvalidRequestException} naming the field.
 */
@ApplicationScoped
public class RequestRules {
    /** llama.cpp's defaults where OpenAI has none: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05. */
    static final float DEFAULT_TEMPERATURE = 0.8f;

    /** Bytes of prompt text per token of {@code max-prompt-tokens} when {@code max-prompt-bytes} is not set. */
    static final int DEFAULT_PROMPT_BYTES_PER_TOKEN = 16;

    @Inject
    EdgeLlmConfig config;
    @Inject
    EngineService engine;

    /** The checked, engine-independent part of a request. */
    public record Checked(int maxTokens, SamplingParams sampling, List<String> stop, boolean stopAtEog) {}

    /** Checks everything that does not need the model: counts and ranges. */
    public Checked check(SamplingFields f) {
        int maxTokens = f.maxTokens() == null ? config.limits().defaultMaxTokens() : f.maxTokens();
        if (maxTokens < 1) {
            throw new InvalidRequestException("max_tokens", "max_tokens must be at least 1, got " + maxTokens);
        }
        if (maxTokens > config.limits().maxTokens()) {
            throw new InvalidRequestException("max_tokens", "max_tokens is " + maxTokens + ", more than this server's limit of "
                    + config.limits().maxTokens() + " (edgellm.limits.max-tokens)");
        }
        double temperature = f.temperature() == null ? DEFAULT_TEMPERATURE : f.temperature();
        if (!(temperature >= 0 && temperature <= 2)) {
            throw new InvalidRequestException("temperature", "temperature must be between 0 and 2, got " + f.temperature());
        }
        SamplingParams sp = temperature == 0 ? SamplingParams.greedy()
                : SamplingParams.defaults(f.seed() != null ? f.seed() : System.nanoTime()).withTemperature((float) temperature);
        if (f.seed() != null) {
            sp = sp.withSeed(f.seed());
        }
        if (f.topP() != null) {
            if (!(f.topP() > 0 && f.topP() <= 1)) {
                throw new InvalidRequestException("top_p", "top_p must be in (0, 1], got " + f.topP());
            }
            sp = sp.withTopP(f.topP().floatValue());
        }
        if (f.topK() != null) {
            if (f.topK() < 0) {
                throw new InvalidRequestException("top_k", "top_k must be >= 0 (0 = off), got " + f.topK());
            }
            // at least the vocabulary keeps every token: the same as off
            int vocab = engine.vocabSize();
            sp = sp.withTopK(vocab > 0 && f.topK() >= vocab ? 0 : f.topK());
        }
        if (f.minP() != null) {
            if (!(f.minP() >= 0 && f.minP() <= 1)) {
                throw new InvalidRequestException("min_p", "min_p must be in [0, 1], got " + f.minP());
            }
            sp = sp.withMinP(f.minP().floatValue());
        }
        if (f.repeatPenalty() != null || f.repeatLastN() != null) {
            double penalty = f.repeatPenalty() == null ? 1.0 : f.repeatPenalty();
            int lastN = f.repeatLastN() == null ? 64 : f.repeatLastN();
            if (!(penalty > 0 && penalty <= 10)) {
                throw new InvalidRequestException("repeat_penalty", "repeat_penalty must be in (0, 10], got " + f.repeatPenalty());
            }
            if (lastN < 0) {
                throw new InvalidRequestException("repeat_last_n", "repeat_last_n must be >= 0, got " + lastN);
            }
            sp = sp.withRepeatPenalty((float) penalty, lastN);
        }
        List<String> stop = stops(f.stop());
        return new Checked(maxTokens, sp, stop, !Boolean.TRUE.equals(f.ignoreEos()));
    }

    private List<String> stops(JsonNode node) {
        List<String> out = new ArrayList<>();
        if (node == null || node.isNull()) {
            return out;
        }
        if (node.isTextual()) {
            out.add(node.asText());
        } else if (node.isArray()) {
            for (JsonNode s : node) {
                if (!s.isTextual()) {
                    throw new InvalidRequestException("stop", "stop must be a string or an array of strings");
                }
                out.add(s.asText());
            }
        } else {
            throw new InvalidRequestException("stop", "stop must be a string or an array of strings");
        }
        if (out.size() > config.limits().maxStopSequences()) {
            throw new InvalidRequestException("stop", "at most " + config.limits().maxStopSequences() + " stop strings are allowed, got " + out.size());
        }
        long total = 0;
        for (String s : out) {
            if (s.isEmpty()) {
                throw new InvalidRequestException("stop", "stop strings may not be empty");
            }
            long bytes = utf8Length(s);
            if (bytes > config.limits().maxStopBytes()) {
                throw new InvalidRequestException("stop", "a stop string has " + bytes + " bytes, more than this server's limit of "
                        + config.limits().maxStopBytes() + " (edgellm.limits.max-stop-bytes)");
            }
            total += bytes;
        }
        if (total > config.limits().maxStopTotalBytes()) {
            throw new InvalidRequestException("stop", "the stop strings have " + total + " bytes together, more than this server's limit of "
                    + config.limits().maxStopTotalBytes() + " (edgellm.limits.max-stop-total-bytes)");
        }
        return out;
    }

    /** Most bytes of prompt text (UTF-8) a request may send to the tokenizer. */
    public long maxPromptBytes() {
        return config.limits().maxPromptBytes().map(m -> m.asLongValue())
                .orElse((long) config.limits().maxPromptTokens() * DEFAULT_PROMPT_BYTES_PER_TOKEN);
    }

    /**
     * Refuses prompt text over {@link #maxPromptBytes()} before it is tokenized: so much text
     * cannot be a prompt of {@code max-prompt-tokens}, and tokenizing it would only cost memory.
     */
    public void checkPromptBytes(String param, long bytes) {
        long max = maxPromptBytes();
        if (bytes > max) {
            throw new InvalidRequestException(param, InvalidRequestException.PROMPT_TOO_LONG, "the prompt has " + bytes + " bytes of text, more than this server's limit of "
                    + max + " (edgellm.limits.max-prompt-bytes; " + config.limits().maxPromptTokens() + " tokens at most)");
        }
    }

    /** Refuses a prompt of more than {@code max-prompt-tokens} tokens. */
    public void checkPromptTokens(String param, int tokens) {
        if (tokens > config.limits().maxPromptTokens()) {
            throw new InvalidRequestException(param, InvalidRequestException.PROMPT_TOO_LONG, "the prompt has " + tokens
                    + " tokens, more than this server's limit of " + config.limits().maxPromptTokens() + " (edgellm.limits.max-prompt-tokens)");
        }
    }

    /** UTF-8 length of a text, without encoding it. */
    public static long utf8Length(CharSequence s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /** UTF-8 length of the text of chat messages. */
    public static long utf8Length(List<ChatMessage> messages) {
        long n = 0;
        for (ChatMessage m : messages) {
            n += utf8Length(m.content()) + 16; // the template's markup per turn, roughly
        }
        return n;
    }

    /**
     * The engine request for a tokenized prompt: checks the prompt against the limit and the context,
     * and caps {@code max_tokens} at the context left after the prompt.
     */
    public GenerationRequest request(int[] prompt, Checked c, int context, String promptParam) {
        checkPromptTokens(promptParam, prompt.length);
        if (prompt.length >= context) {
            throw new InvalidRequestException(promptParam, InvalidRequestException.CONTEXT_LENGTH_EXCEEDED, "the prompt has " + prompt.length
                    + " tokens but the model's context holds " + context + " (prompt and completion together)");
        }
        return new GenerationRequest(prompt, Math.min(c.maxTokens(), context - prompt.length), c.sampling(), c.stop(), c.stopAtEog());
    }
}
