package dev.edgellm.core.model;

/**
 * One architecture's forward pass over a batch of tokens at positions
 * {@code session.position ..}: reads the KV cache, appends to it, and leaves the final
 * (normalized) hidden states in {@code session.x}.
 */
interface ForwardPass {
    void forward(Session s, int[] tokens, int n);
}
