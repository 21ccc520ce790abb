package dev.edgellm.core.model;

import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.gguf.GgufArray;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufMetadata;
import dev.edgellm.core.gguf.GgufValueType;
import java.util.Arrays;

/**
 * Hyper-parameters of a model, read from GGUF metadata: model variants are data, not classes.
 *
 * @param architecture   {@code general.architecture} ("llama", "gemma3")
 * @param name           {@code general.name}, or the file name
 * @param dim            embedding width (n_embd)
 * @param layers         transformer blocks
 * @param heads          query heads
 * @param kvHeads        key/value heads (GQA when fewer than heads)
 * @param keyDim         query/key head size
 * @param valueDim       value head size
 * @param ffnDim         feed-forward hidden width
 * @param vocabSize      rows of the token embedding
 * @param contextLength  the context the model was trained for
 * @param normEps        RMSNorm epsilon
 * @param ropeGlobal     RoPE of full-attention layers
 * @param ropeLocal      RoPE of sliding-window layers
 * @param slidingWindow  window of sliding-window layers (0: none)
 * @param slidingLayers  per layer: true when it uses the sliding window
 * @param embedScale     factor applied to token embeddings (Gemma: sqrt(dim))
 * @param attentionScale factor applied to q.k
 */
public record ModelConfig(String architecture, String name, int dim, int layers, int heads, int kvHeads,
                          int keyDim, int valueDim, int ffnDim, int vocabSize, int contextLength, float normEps,
                          RopeSpec ropeGlobal, RopeSpec ropeLocal, int slidingWindow, boolean[] slidingLayers,
                          float embedScale, float attentionScale) {

    public boolean sliding(int layer) {
        return slidingLayers[layer];
    }

    public RopeSpec rope(int layer) {
        return sliding(layer) ? ropeLocal : ropeGlobal;
    }

    public AttentionSpec attention(int layer) {
        return new AttentionSpec(heads, kvHeads, keyDim, valueDim, attentionScale, sliding(layer) ? slidingWindow : 0, 0f);
    }

    /** Number of sliding-window layers. */
    public int slidingLayerCount() {
        int n = 0;
        for (boolean b : slidingLayers) {
            n += b ? 1 : 0;
        }
        return n;
    }

    /** Most transformer blocks accepted (the largest models have a few hundred). */
    public static final int MAX_LAYERS = 4096;

    /** Reads the configuration of a supported architecture. */
    public static ModelConfig fromGguf(GgufFile file) {
        GgufMetadata md = file.metadata();
        String arch = md.architecture();
        Architecture a = Architecture.of(arch, md.source());
        String p = arch + ".";
        int dim = md.getPositiveInt(p + "embedding_length");
        int layers = md.getPositiveInt(p + "block_count");
        if (layers > MAX_LAYERS) {
            // per-layer arrays are sized by it: a hostile count must not exhaust the heap
            throw new GgufFormatException(md.source() + ": metadata key '" + p + "block_count' at offset " + md.entry(p + "block_count").orElseThrow().offset()
                    + " is " + layers + ", more than the " + MAX_LAYERS + " blocks any supported model has");
        }
        int heads = md.getPositiveInt(p + "attention.head_count");
        int kvHeads = md.contains(p + "attention.head_count_kv") ? md.getPositiveInt(p + "attention.head_count_kv") : heads;
        if (heads % kvHeads != 0) {
            throw new GgufFormatException(md.source() + ": " + p + "attention.head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        }
        int keyDim = md.contains(p + "attention.key_length") ? md.getPositiveInt(p + "attention.key_length") : dim / heads;
        int valueDim = md.contains(p + "attention.value_length") ? md.getPositiveInt(p + "attention.value_length") : keyDim;
        int ffnDim = md.getPositiveInt(p + "feed_forward_length");
        int ctx = md.getPositiveInt(p + "context_length");
        float eps = md.getFloat(p + "attention.layer_norm_rms_epsilon");
        int ropeDims = md.contains(p + "rope.dimension_count") ? md.getPositiveInt(p + "rope.dimension_count") : keyDim;
        if (ropeDims > keyDim || ropeDims % 2 != 0) {
            throw new GgufFormatException(md.source() + ": " + p + "rope.dimension_count " + ropeDims + " must be even and at most the head size " + keyDim);
        }
        float freqBase = md.getFloat(p + "rope.freq_base", 10000f);
        float freqScale = 1f;
        if (md.contains(p + "rope.scaling.factor")) {
            String type = md.findString(p + "rope.scaling.type").orElse("linear");
            float factor = md.getFloat(p + "rope.scaling.factor");
            if (type.equals("linear") && factor > 0f) {
                freqScale = 1f / factor;
            } else if (!type.equals("none")) {
                throw new GgufFormatException(md.source() + ": rope scaling type '" + type + "' is not supported");
            }
        }
        int vocab = file.tensor("token_embd.weight").rows();
        String name = md.findString("general.name").orElse(file.path().getFileName().toString());

        return switch (a) {
            case LLAMA -> {
                RopeSpec rope = new RopeSpec(ropeDims, freqBase, freqScale, false);
                yield new ModelConfig(arch, name, dim, layers, heads, kvHeads, keyDim, valueDim, ffnDim, vocab, ctx, eps,
                        rope, rope, 0, new boolean[layers], 1f, (float) (1.0 / Math.sqrt(keyDim)));
            }
            case GEMMA3 -> {
                int window = md.getInt(p + "attention.sliding_window", 0);
                boolean[] sliding = new boolean[layers];
                if (window > 0) {
                    slidingPattern(md, p + "attention.sliding_window_pattern", sliding);
                }
                float baseSwa = md.getFloat(p + "rope.freq_base_swa", 10000f);
                yield new ModelConfig(arch, name, dim, layers, heads, kvHeads, keyDim, valueDim, ffnDim, vocab, ctx, eps,
                        new RopeSpec(ropeDims, freqBase, freqScale, true),
                        new RopeSpec(ropeDims, baseSwa, 1f, true),
                        window, sliding, (float) Math.sqrt(dim), (float) (1.0 / Math.sqrt(keyDim)));
            }
        };
    }

    /**
     * Which layers slide: an array key gives it per layer (true = sliding); an integer N means every
     * N-th layer is global (llama.cpp's set_swa_pattern); absent means N = 6, Gemma 3's pattern.
     */
    private static void slidingPattern(GgufMetadata md, String key, boolean[] sliding) {
        int n = sliding.length;
        if (md.contains(key) && md.entry(key).orElseThrow().type() == GgufValueType.ARRAY) {
            GgufArray arr = md.getArray(key);
            if (arr.length() != n) {
                throw new GgufFormatException(md.source() + ": '" + key + "' has " + arr.length() + " entries for " + n + " layers");
            }
            for (int i = 0; i < n; i++) {
                sliding[i] = arr.getLong(i) != 0;
            }
            return;
        }
        int pattern = md.getInt(key, 6);
        for (int i = 0; i < n; i++) {
            sliding[i] = pattern > 0 && i % pattern < pattern - 1;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelConfig c && c.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "ModelConfig[" + architecture + " '" + name + "' dim=" + dim + " layers=" + layers + " heads=" + heads + "/" + kvHeads
                + " head=" + keyDim + "/" + valueDim + " ffn=" + ffnDim + " vocab=" + vocabSize + " ctx=" + contextLength
                + " eps=" + normEps + " rope=" + ropeGlobal + "/" + ropeLocal + " window=" + slidingWindow
                + " sliding=" + Arrays.toString(slidingLayers) + " embedScale=" + embedScale + " attnScale=" + attentionScale + "]";
    }
}
