package dev.edgellm.service.engine;

import dev.edgellm.core.sampling.SamplingParams;
import java.util.List;

/**
 * What to generate: prompt tokens (already tokenized with the model's tokenizer, BOS and chat
 * template included), how many tokens at most, how to sample and where to stop.
 *
 * @param promptTokens prompt token ids
 * @param maxTokens    most tokens to generate (at least 1)
 * @param sampling     token choice; temperature 0 is greedy
 * @param stop         strings that end generation; the text is cut before the first one found
 * @param stopAtEog    stop at the model's end-of-generation tokens
 */
public record GenerationRequest(int[] promptTokens, int maxTokens, SamplingParams sampling, List<String> stop, boolean stopAtEog) {
    public GenerationRequest {
        if (promptTokens == null || promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxTokens);
        }
        if (sampling == null) {
            throw new IllegalArgumentException("sampling parameters are missing");
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("a stop string may not be empty");
            }
        }
    }
}
