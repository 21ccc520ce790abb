package dev.edgellm.core.model;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;

/**
 * Per-conversation state: the KV cache, the position reached, and the scratch activations of a
 * batch of up to {@code maxBatch} tokens. Everything is allocated here, once; a forward pass
 * allocates nothing. Not thread-safe: one session serves one request at a time.
 */
public final class Session implements AutoCloseable {
    /** Output rows projected to the vocabulary at once when every position's logits are wanted. */
    static final int LOGIT_ROWS = 16;

    private final LanguageModel model;
    final Backend backend;
    final ModelConfig config;
    final int contextLength;
    final int maxBatch;
    final KvCache kv;

    // Scratch, row-major [maxBatch][width]; widths in the comments.
    final Activations x;        // [dim] residual stream
    final Activations xb;       // [dim] normed input / block output
    final Activations q;        // [heads*keyDim]
    final Activations k;        // [kvHeads*keyDim]
    final Activations v;        // [kvHeads*valueDim]
    final Activations att;      // [heads*valueDim] attention output
    final Activations hb;       // [ffnDim] gate
    final Activations hb2;      // [ffnDim] up
    // The output head's buffers hold one row until every position's logits are first asked for
    // (teacher forcing, the CLI's logits command): LOGIT_ROWS rows of a 262,144-token vocabulary
    // are 16 MB a generating session never uses.
    Activations rows;           // [1 or LOGIT_ROWS][dim] rows picked for the output projection
    Activations logits;         // [1 or LOGIT_ROWS][vocab]
    final float[] hostLogits;   // [vocab] last token's logits on the host
    final Activations[] qkv;    // {q, k, v}: the outputs of one shared product
    final Activations[] gateUp; // {hb, hb2}
    private final int[] batch;  // token ids of the batch in flight
    private final int[] one = new int[1];

    int position;

    Session(LanguageModel model, int contextLength, int maxBatch, boolean f16Cache) {
        ModelConfig c = model.config();
        if (contextLength < 1) {
            throw new IllegalArgumentException("context length must be at least 1, got " + contextLength);
        }
        if (maxBatch < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + maxBatch);
        }
        this.model = model;
        this.backend = model.backend();
        this.config = c;
        this.contextLength = contextLength;
        this.maxBatch = Math.min(maxBatch, contextLength);
        this.kv = backend.kvCache(kvSpec(c, contextLength, this.maxBatch, f16Cache));
        int b = this.maxBatch;
        x = backend.allocate(b * c.dim());
        xb = backend.allocate(b * c.dim());
        q = backend.allocate(b * c.heads() * c.keyDim());
        k = backend.allocate(b * c.kvHeads() * c.keyDim());
        v = backend.allocate(b * c.kvHeads() * c.valueDim());
        att = backend.allocate(b * c.heads() * c.valueDim());
        hb = backend.allocate(b * c.ffnDim());
        hb2 = backend.allocate(b * c.ffnDim());
        qkv = new Activations[] {q, k, v};
        gateUp = new Activations[] {hb, hb2};
        rows = backend.allocate(c.dim());
        logits = backend.allocate(c.vocabSize());
        hostLogits = new float[c.vocabSize()];
        batch = new int[b];
    }

    /** Grows the output head's buffers to {@link #LOGIT_ROWS} rows, once per session. */
    void growLogitRows() {
        if (rows.length() < LOGIT_ROWS * config.dim()) {
            Activations r = backend.allocate(LOGIT_ROWS * config.dim());
            Activations l = backend.allocate(Math.multiplyExact(LOGIT_ROWS, config.vocabSize()));
            rows.close();
            logits.close();
            rows = r;
            logits = l;
        }
    }

    /**
     * The KV cache shape for a context: full-attention layers keep every position; sliding-window
     * layers keep a ring of {@code window + maxBatch - 1} slots, enough for every query of a batch.
     */
    public static KvCacheSpec kvSpec(ModelConfig c, int contextLength, int maxBatch, boolean f16) {
        int[] capacity = new int[c.layers()];
        for (int l = 0; l < c.layers(); l++) {
            capacity[l] = c.sliding(l) ? Math.min(contextLength, c.slidingWindow() + maxBatch - 1) : contextLength;
        }
        return new KvCacheSpec(capacity, c.kvHeads(), c.keyDim(), c.valueDim(), f16);
    }

    public LanguageModel model() {
        return model;
    }

    /** Tokens held in the KV cache (the next token's position). */
    public int position() {
        return position;
    }

    public int contextLength() {
        return contextLength;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /** Bytes of the KV cache. */
    public long kvCacheBytes() {
        return kv.byteSize();
    }

    /** Forgets all tokens (the cache is overwritten as new ones arrive). */
    public void reset() {
        position = 0;
    }

    /**
     * Runs {@code tokens} through the model in batches and returns the logits after the last one
     * (a view valid until the next call).
     *
     * @throws ContextOverflowException when the tokens do not fit the remaining context
     */
    public float[] ingest(int[] tokens) {
        return ingest(tokens, 0, tokens.length, null);
    }

    /** Logits of every position, delivered row by row (teacher forcing). */
    @FunctionalInterface
    public interface LogitsConsumer {
        void accept(int index, float[] logits);
    }

    /**
     * Runs {@code tokens[from..from+n)} and returns the last logits; when {@code every} is given it
     * also receives the logits of each of those positions in order.
     */
    public float[] ingest(int[] tokens, int from, int n, LogitsConsumer every) {
        if (n <= 0) {
            throw new IllegalArgumentException("no tokens to process");
        }
        if (position + n > contextLength) {
            throw new ContextOverflowException(position, n, contextLength);
        }
        for (int done = 0; done < n; ) {
            int len = Math.min(maxBatch, n - done);
            System.arraycopy(tokens, from + done, batch, 0, len);
            model.forward(this, batch, len, every, done);
            done += len;
        }
        return hostLogits;
    }

    /** Runs one token (decode step) and returns its logits. */
    public float[] next(int token) {
        one[0] = token;
        return ingest(one, 0, 1, null);
    }

    /** Releases the KV cache and the scratch buffers on the backend. */
    @Override
    public void close() {
        for (AutoCloseable c : new AutoCloseable[] {x, xb, q, k, v, att, hb, hb2, rows, logits, kv}) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("releasing a session buffer failed", e);
            }
        }
    }
}
