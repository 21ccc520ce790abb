package dev.edgellm.service.engine;

/**
 * What a job produced.
 *
 * @param text             the generated text (cut before a stop string)
 * @param promptTokens     tokens of the prompt
 * @param completionTokens tokens generated (a stop string's last token included)
 * @param finishReason     why it ended
 * @param queueNanos       time spent waiting for the engine
 * @param promptNanos      prompt processing time
 * @param firstTokenNanos  from the start of processing to the first generated token (0 when none)
 * @param decodeNanos      time spent generating after the prompt
 */
public record GenerationOutcome(String text, int promptTokens, int completionTokens, FinishReason finishReason, long queueNanos,
                                long promptNanos, long firstTokenNanos, long decodeNanos) {

    public int totalTokens() {
        return promptTokens + completionTokens;
    }

    /** Generated tokens per second during decoding (0 when nothing was measured). */
    public double tokensPerSecond() {
        return decodeNanos <= 0 || completionTokens == 0 ? 0 : completionTokens * 1e9 / decodeNanos;
    }
}
