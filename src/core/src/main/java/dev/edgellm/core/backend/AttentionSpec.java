package dev.edgellm.core.backend;

/**
 * Shape and masking of one attention layer.
 *
 * @param heads     query heads
 * @param kvHeads   key/value heads (GQA/MQA: heads is a multiple of kvHeads)
 * @param keyDim    query/key head size
 * @param valueDim  value head size
 * @param scale     factor applied to q.k (usually 1/sqrt(keyDim))
 * @param window    sliding window: a query at position p sees positions p-window+1..p; 0 = all
 * @param softcap   attention logit soft-capping (0 = none)
 */
public record AttentionSpec(int heads, int kvHeads, int keyDim, int valueDim, float scale, int window, float softcap) {}
