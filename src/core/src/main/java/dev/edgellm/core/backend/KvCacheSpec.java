package dev.edgellm.core.backend;

/**
 * Shape of a KV cache.
 *
 * @param capacity  slots per layer: the context length for full-attention layers, the window plus
 *                  the batch size (less one) for sliding-window layers
 * @param kvHeads   key/value heads
 * @param keyDim    key head size
 * @param valueDim  value head size
 * @param f16       true to store keys and values as float16 (as llama.cpp does by default), false for float32
 */
public record KvCacheSpec(int[] capacity, int kvHeads, int keyDim, int valueDim, boolean f16) {

    public int layers() {
        return capacity.length;
    }

    /** Bytes the cache occupies once allocated. */
    public long byteSize() {
        long slots = 0;
        for (int c : capacity) {
            slots += c;
        }
        return slots * kvHeads * (long) (keyDim + valueDim) * (f16 ? 2 : 4);
    }
}
