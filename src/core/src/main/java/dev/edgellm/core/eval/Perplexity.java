package dev.edgellm.core.eval;

import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Perplexity the way {@code llama-perplexity} measures it, so figures compare: the text is
 * tokenized once (BOS first when the model wants one) and cut into {@code n = tokens / ctx}
 * non-overlapping chunks of {@code ctx} tokens (the remainder is dropped, at least {@code 2 ctx}
 * tokens are needed); each chunk is run from an empty cache with its first token replaced by BOS,
 * and only the second half is scored: the logits at positions {@code ctx/2 .. ctx-2} predicting
 * the tokens that follow them, {@code ctx - ctx/2 - 1} per chunk. PPL is {@code exp} of the mean
 * negative log-likelihood; its error is {@code PPL * sd(nll) / sqrt(count - 1)}.
 *
 * <p>With a base file ({@link LogitsFile}) the same positions are compared with the base model's
 * distributions instead ({@link KlDivergence}).
 */
public final class Perplexity {

    /** Called after each chunk. */
    @FunctionalInterface
    public interface Progress {
        void chunk(int done, int total, Stats soFar);
    }

    /** Running sums of the negative log-likelihood. */
    public static final class Stats {
        double nll;
        double nll2;
        long count;

        /** Perplexity so far. */
        public double ppl() {
            return Math.exp(nll / count);
        }

        /** Standard error of the perplexity (llama-perplexity's estimate). */
        public double pplError() {
            double mean = nll / count;
            double var = nll2 / count - mean * mean;
            return var > 0 && count > 1 ? Math.sqrt(var / (count - 1)) * ppl() : 0;
        }

        /** Scored tokens. */
        public long count() {
            return count;
        }
    }

    /** The scoring rule itself: which positions of a {@code ctx}-token chunk are scored. */
    public static int firstScored(int ctx) {
        return ctx / 2;
    }

    /** Scored positions per chunk. */
    public static int scoredPerChunk(int ctx) {
        return ctx - 1 - firstScored(ctx);
    }

    /** The evaluation tokens of a text (BOS first per the tokenizer, special tokens as plain text). */
    public static int[] tokenize(Tokenizer tok, String text) {
        return tok.encode(text, true, false);
    }

    /** Chunks a token count gives at this context; refuses fewer than two contexts' worth. */
    public static int chunks(int tokens, int ctx) {
        if (ctx < 4) {
            throw new IllegalArgumentException("context must be at least 4 tokens, got " + ctx);
        }
        if (tokens < 2 * ctx) {
            throw new IllegalArgumentException("the text has " + tokens + " tokens; perplexity with a context of " + ctx + " needs at least " + 2 * ctx);
        }
        return tokens / ctx;
    }

    private Perplexity() {}

    /**
     * PPL of {@code model} on {@code tokens}; when {@code base} is given, also writes every scored
     * position's log-probabilities to it (the tokens and header must already be in it).
     */
    public static Stats run(LanguageModel model, int[] tokens, int ctx, int batch, LogitsFile.Writer base, Progress progress) throws IOException {
        int n = chunks(tokens.length, ctx);
        Stats st = new Stats();
        int first = firstScored(ctx);
        try (Session s = model.newSession(ctx, batch)) {
            ChunkRunner runner = new ChunkRunner(model, s, ctx);
            for (int c = 0; c < n; c++) {
                int start = c * ctx;
                IOException[] failure = new IOException[1];
                runner.run(tokens, start, (pos, logits) -> {
                    if (pos < first || pos > ctx - 2) {
                        return;
                    }
                    int next = tokens[start + pos + 1];
                    double v;
                    if (base != null) {
                        try {
                            v = base.append(logits, next);
                        } catch (IOException e) {
                            failure[0] = e;
                            return;
                        }
                    } else {
                        v = -logSoftmax(logits, model.config().vocabSize(), next);
                    }
                    st.nll += v;
                    st.nll2 += v * v;
                    st.count++;
                });
                if (failure[0] != null) {
                    throw failure[0];
                }
                if (progress != null) {
                    progress.chunk(c + 1, n, st);
                }
            }
        }
        return st;
    }

    /** Compares {@code model} with a base file position by position. */
    public static KlDivergence compare(LanguageModel model, LogitsFile.Reader base, int batch, KlProgress progress) throws IOException {
        int vocab = model.config().vocabSize();
        if (base.vocab() != vocab) {
            throw new IllegalArgumentException("the base file was computed with a vocabulary of " + base.vocab() + " tokens, this model has " + vocab);
        }
        int ctx = base.context();
        if (ctx > model.config().contextLength()) {
            throw new IllegalArgumentException("the base file's context " + ctx + " is longer than the model's " + model.config().contextLength());
        }
        int first = firstScored(ctx);
        int stride = LogitsFile.stride(vocab);
        int[] tokens = base.tokens();
        KlDivergence kl = new KlDivergence(base.chunks() * scoredPerChunk(ctx));
        try (Session s = model.newSession(ctx, batch)) {
            ChunkRunner runner = new ChunkRunner(model, s, ctx);
            for (int c = 0; c < base.chunks(); c++) {
                int start = c * ctx;
                ByteBuffer probs = base.nextChunk();
                runner.run(tokens, start, (pos, logits) -> {
                    if (pos < first || pos > ctx - 2) {
                        return;
                    }
                    kl.add(logits, vocab, probs, (pos - first) * stride * 2, tokens[start + pos + 1]);
                });
                if (progress != null) {
                    progress.chunk(c + 1, base.chunks(), kl);
                }
            }
        }
        return kl;
    }

    /** Called after each chunk of a comparison. */
    @FunctionalInterface
    public interface KlProgress {
        void chunk(int done, int total, KlDivergence soFar);
    }

    /**
     * llama-perplexity's {@code log_softmax} for one position: {@code logit[tok] - max - log(sum exp(logit - max))},
     * the exponentials in float, summed in double.
     */
    static double logSoftmax(float[] logits, int vocab, int tok) {
        float max = logits[0];
        for (int i = 1; i < vocab; i++) {
            max = Math.max(max, logits[i]);
        }
        double sumExp = 0;
        for (int i = 0; i < vocab; i++) {
            sumExp += (float) Math.exp(logits[i] - max);
        }
        return logits[tok] - max - Math.log(sumExp);
    }

    /** Runs one chunk from an empty cache, BOS in place of its first token, handing out every position's logits. */
    private static final class ChunkRunner {
        private final Session s;
        private final int[] chunk;
        private final int bos;
        private final boolean addBos;

        ChunkRunner(LanguageModel model, Session s, int ctx) {
            this.s = s;
            this.chunk = new int[ctx];
            this.bos = model.tokenizer().bos();
            this.addBos = model.tokenizer().addBos();
        }

        void run(int[] tokens, int start, Session.LogitsConsumer every) {
            System.arraycopy(tokens, start, chunk, 0, chunk.length);
            if (addBos) {
                chunk[0] = bos;
            }
            s.reset();
            s.ingest(chunk, 0, chunk.length, every);
        }
    }
}
