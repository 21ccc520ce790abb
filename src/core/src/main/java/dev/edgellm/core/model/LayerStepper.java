package dev.edgellm.core.model;

import dev.edgellm.core.backend.Backend;

/**
 * Runs a model one transformer block at a time over a token sequence whose residual stream the
 * caller keeps: the embedding, then block 0 on it, block 1 on the result, and so on. Calibration
 * for quantization works this way (GPTQ's layer-wise scheme): the activations of one block over
 * the whole calibration text are held, not the whole model's, and a block can be run again after
 * its weights changed.
 *
 * <p>A call handles one sequence starting at position 0 (every call overwrites the block's KV
 * cache), in batches of at most {@code batch} tokens. Residual streams are row-major
 * {@code [tokens][dim]} host arrays. Not thread-safe.
 */
public final class LayerStepper implements AutoCloseable {
    private final LanguageModel model;
    private final ForwardPass pass;
    private final Session s;
    private final Backend backend;
    private final int dim;
    private final int maxTokens;

    /**
     * @param maxTokens longest sequence (at most the model's context)
     * @param batch     tokens per forward batch
     */
    public LayerStepper(LanguageModel model, int maxTokens, int batch) {
        if (maxTokens < 1 || maxTokens > model.config().contextLength()) {
            throw new IllegalArgumentException("sequence length " + maxTokens + " is outside 1.." + model.config().contextLength());
        }
        this.model = model;
        this.pass = model.pass();
        this.s = new Session(model, maxTokens, Math.min(batch, maxTokens), true);
        this.backend = model.backend();
        this.dim = model.config().dim();
        this.maxTokens = maxTokens;
    }

    public LanguageModel model() {
        return model;
    }

    public int maxTokens() {
        return maxTokens;
    }

    /** {@code x[0 .. n*dim)} = the (scaled) token embeddings of {@code tokens[0 .. n)}. */
    public void embed(int[] tokens, int n, float[] x) {
        check(n, x);
        int[] batch = new int[s.maxBatch];
        for (int t0 = 0; t0 < n; t0 += s.maxBatch) {
            int len = Math.min(s.maxBatch, n - t0);
            System.arraycopy(tokens, t0, batch, 0, len);
            pass.embed(s, batch, len);
            backend.read(s.x, 0, x, t0 * dim, len * dim);
        }
    }

    /** Block {@code layer} over the sequence of {@code n} tokens whose residual stream is {@code x}, in place. */
    public void layer(int layer, float[] x, int n) {
        check(n, x);
        if (layer < 0 || layer >= model.config().layers()) {
            throw new IllegalArgumentException("layer " + layer + " is outside 0.." + (model.config().layers() - 1));
        }
        for (int t0 = 0; t0 < n; t0 += s.maxBatch) {
            int len = Math.min(s.maxBatch, n - t0);
            backend.write(x, t0 * dim, s.x, 0, len * dim);
            s.position = t0;
            pass.layer(s, layer, len);
            backend.read(s.x, 0, x, t0 * dim, len * dim);
        }
        s.position = 0;
    }

    /** The final norm over {@code n} rows of {@code x}, in place (the output projection's input). */
    public void outputNorm(float[] x, int n) {
        check(n, x);
        for (int t0 = 0; t0 < n; t0 += s.maxBatch) {
            int len = Math.min(s.maxBatch, n - t0);
            backend.write(x, t0 * dim, s.x, 0, len * dim);
            pass.outputNorm(s, len);
            backend.read(s.x, 0, x, t0 * dim, len * dim);
        }
    }

    private void check(int n, float[] x) {
        if (n < 1 || n > maxTokens) {
            throw new IllegalArgumentException(n + " tokens: outside 1.." + maxTokens);
        }
        if (x.length < n * dim) {
            throw new IllegalArgumentException("residual stream of " + x.length + " floats for " + n + " tokens of " + dim);
        }
    }

    @Override
    public void close() {
        s.close();
    }
}
