package dev.edgellm.core.engine;

import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.Sampler;
import dev.edgellm.core.sampling.SamplingParams;
import dev.edgellm.core.tokenizer.StreamDecoder;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.util.Arrays;

/** The token loop: prompt processing, then sample, stream and feed back until a stop. */
public final class Generator {

    /** Why generation ended. */
    public enum StopReason { END_OF_GENERATION, MAX_TOKENS, CONTEXT_FULL, CANCELLED }

    /**
     * @param maxTokens   most tokens to generate
     * @param sampling    token choice
     * @param stopAtEog   stop at end-of-generation tokens (EOS, {@code <end_of_turn>}); off for benchmarks
     * @param stopTokens  further token ids that end generation (not emitted)
     */
    public record Options(int maxTokens, SamplingParams sampling, boolean stopAtEog, int[] stopTokens) {
        public Options {
            if (maxTokens < 0) {
                throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
            }
            stopTokens = stopTokens.clone();
        }

        public Options(int maxTokens, SamplingParams sampling, boolean stopAtEog) {
            this(maxTokens, sampling, stopAtEog, new int[0]);
        }

        boolean stops(Tokenizer tok, int id) {
            if (stopAtEog && tok.isEndOfGeneration(id)) {
                return true;
            }
            for (int s : stopTokens) {
                if (s == id) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Receives tokens as they are produced. */
    public interface Listener {
        /**
         * A new token and the text it completes (possibly empty while a UTF-8 character is split).
         * At the end, bytes still held by the UTF-8 decoder arrive with id -1.
         */
        void onToken(int id, String text);

        /** Polled between tokens and between prompt batches; true stops generation. */
        default boolean cancelled() {
            return false;
        }

        /**
         * Prompt processing progress, after each forward batch: {@code done} of {@code total} prompt
         * tokens are in the KV cache. Lets a supervisor see progress during a long prompt.
         */
        default void onPromptProgress(int done, int total) {
        }
    }

    /**
     * What a generation produced and how long it took.
     *
     * @param tokens          generated token ids (stop token excluded)
     * @param text            their text
     * @param reason          why it stopped
     * @param promptTokens    tokens of the prompt
     * @param promptNanos     prompt processing time
     * @param firstTokenNanos from start to the first generated token
     * @param decodeNanos     time spent generating after the prompt
     */
    public record Result(int[] tokens, String text, StopReason reason, int promptTokens, long promptNanos,
                         long firstTokenNanos, long decodeNanos) {
        /** Generated tokens per second (decode phase). */
        public double tokensPerSecond() {
            return decodeNanos == 0 ? 0 : tokens.length * 1e9 / decodeNanos;
        }

        /** Prompt tokens per second. */
        public double promptTokensPerSecond() {
            return promptNanos == 0 ? 0 : promptTokens * 1e9 / promptNanos;
        }
    }

    private Generator() {}

    /**
     * Generates from {@code prompt} on a fresh or continuing session.
     *
     * @throws dev.edgellm.core.model.ContextOverflowException when the prompt itself does not fit
     */
    public static Result generate(Session session, int[] prompt, Options options, Listener listener) {
        Tokenizer tok = session.model().tokenizer();
        Sampler sampler = new Sampler(options.sampling(), session.model().config().vocabSize());
        StreamDecoder decoder = tok.streamDecoder(false);
        int[] history = Arrays.copyOf(prompt, prompt.length + options.maxTokens());
        int historyLen = prompt.length;
        int[] out = new int[options.maxTokens()];
        int produced = 0;
        StringBuilder text = new StringBuilder();

        long start = System.nanoTime();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("no tokens to process");
        }
        if (session.position() + prompt.length > session.contextLength()) {
            throw new dev.edgellm.core.model.ContextOverflowException(session.position(), prompt.length, session.contextLength());
        }
        // The prompt goes in batch-sized slices (the same forward batches one ingest call would run),
        // so progress is reported and cancellation is honoured while a long prompt is processed.
        float[] logits = null;
        StopReason reason = StopReason.MAX_TOKENS;
        int step = session.maxBatch();
        for (int done = 0; done < prompt.length; ) {
            if (listener != null && done > 0 && listener.cancelled()) {
                reason = StopReason.CANCELLED;
                break;
            }
            int n = Math.min(step, prompt.length - done);
            logits = session.ingest(prompt, done, n, null);
            done += n;
            if (listener != null) {
                listener.onPromptProgress(done, prompt.length);
            }
        }
        long promptDone = System.nanoTime();
        long firstToken = 0;
        while (reason != StopReason.CANCELLED && produced < options.maxTokens()) {
            if (listener != null && listener.cancelled()) {
                reason = StopReason.CANCELLED;
                break;
            }
            int next = sampler.sample(logits, history, historyLen);
            if (produced == 0) {
                firstToken = System.nanoTime() - start;
            }
            if (options.stops(tok, next)) {
                reason = StopReason.END_OF_GENERATION;
                break;
            }
            out[produced++] = next;
            history[historyLen++] = next;
            String piece = decoder.accept(next);
            text.append(piece);
            if (listener != null) {
                listener.onToken(next, piece);
            }
            if (produced == options.maxTokens()) {
                break;
            }
            if (session.position() >= session.contextLength()) {
                reason = StopReason.CONTEXT_FULL;
                break;
            }
            logits = session.next(next);
        }
        String tail = decoder.flush();
        if (!tail.isEmpty()) {
            text.append(tail);
            if (listener != null) {
                listener.onToken(-1, tail);
            }
        }
        long end = System.nanoTime();
        return new Result(Arrays.copyOf(out, produced), text.toString(), reason, prompt.length, promptDone - start,
                firstToken, end - promptDone);
    }
}
