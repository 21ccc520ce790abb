package dev.edgellm.core.model;

/**
 * One architecture's forward pass over a batch of tokens at positions
 * {@code session.position ..}: reads the KV cache, appends to it, and leaves the final
 * (normalized) hidden states in {@code session.x}.
 *
 * <p>The pass is told in three steps so a caller can also run the model one block at a time
 * (calibration for quantization: {@link LayerStepper}): the token embedding, one transformer
 * block on the residual stream {@code session.x}, and the final norm.
 */
interface ForwardPass {

    /** {@code session.x = embedding(tokens)} for {@code n} tokens. */
    void embed(Session s, int[] tokens, int n);

    /**
     * The attention half of transformer block {@code layer} for {@code n} tokens: K and V of every
     * token appended to the cache, the attention output in {@code session.att}; {@code session.x}
     * is not changed.
     */
    void attend(Session s, int layer, int n);

    /**
     * The rest of block {@code layer} for the {@code n} tokens whose attention output is in
     * {@code session.att}: output projection, residual, FFN, on the residual stream
     * {@code session.x}.
     */
    void finish(Session s, int layer, int n);

    /** Transformer block {@code layer} on the residual stream {@code session.x} of {@code n} tokens. */
    default void layer(Session s, int layer, int n) {
        attend(s, layer, n);
        finish(s, layer, n);
    }

    /** The final norm of the residual stream, in place. */
    void outputNorm(Session s, int n);

    /**
     * The whole pass over {@code n} tokens. With {@code lastOnly} (only the last token's logits are
     * wanted), the last block finishes the last token alone, as llama.cpp does with its output ids
     * ({@code inp_out_ids}): every token's K and V are still cached, then the last token's attention
     * output and residual row move to row 0 and the output projection and FFN run for that row only
     * (on Gemma 3 1B that is ~93 % of the last block's products, ~3.5 % of a long prompt's). Each row
     * is computed by the same operations whatever the batch, so the last token's values are those of
     * the full pass. Returns the row that holds the last token's final hidden state.
     */
    default int forward(Session s, int[] tokens, int n, boolean lastOnly) {
        embed(s, tokens, n);
        int layers = s.config.layers();
        for (int l = 0; l < layers; l++) {
            if (lastOnly && n > 1 && l == layers - 1) {
                attend(s, l, n);
                int att = s.config.heads() * s.config.valueDim();
                int dim = s.config.dim();
                s.backend.copy(s.att, (n - 1) * att, s.att, 0, att);
                s.backend.copy(s.x, (n - 1) * dim, s.x, 0, dim);
                finish(s, l, 1);
                outputNorm(s, 1);
                return 0;
            }
            layer(s, l, n);
        }
        outputNorm(s, n);
        return n - 1;
    }
}
