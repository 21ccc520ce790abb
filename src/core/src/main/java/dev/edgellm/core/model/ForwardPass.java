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

    /** Transformer block {@code layer} on the residual stream {@code session.x} of {@code n} tokens. */
    void layer(Session s, int layer, int n);

    /** The final norm of the residual stream, in place. */
    void outputNorm(Session s, int n);

    default void forward(Session s, int[] tokens, int n) {
        embed(s, tokens, n);
        for (int l = 0; l < s.config.layers(); l++) {
            layer(s, l, n);
        }
        outputNorm(s, n);
    }
}
