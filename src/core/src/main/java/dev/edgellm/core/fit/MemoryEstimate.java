package dev.edgellm.core.fit;

import dev.edgellm.core.gguf.GgmlType;
import java.util.Map;

/**
 * The memory a model needs for one session at a given context.
 *
 * @param weightsByType bytes of weights per tensor type (memory-mapped, must stay resident)
 * @param context       context length the KV cache is sized for
 * @param kvCacheBytes  KV cache (sliding-window layers capped at their ring)
 * @param scratchBytes  activations, logits over the vocabulary, sampler and kernel buffers
 * @param overheadBytes runtime: JVM, tokenizer tables, threads
 */
public record MemoryEstimate(Map<GgmlType, Long> weightsByType, int context, long kvCacheBytes, long scratchBytes, long overheadBytes) {
    public MemoryEstimate {
        weightsByType = Map.copyOf(weightsByType);
    }

    public long weightBytes() {
        return weightsByType.values().stream().mapToLong(Long::longValue).sum();
    }

    public long totalBytes() {
        return weightBytes() + kvCacheBytes + scratchBytes + overheadBytes;
    }
}
