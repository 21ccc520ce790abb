package dev.edgellm.core.model;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.BlockScales;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.Arrays;

/**
 * Read-only weights, prepared by a backend (for CPU backends: slices of the memory-mapped file).
 * Shapes are ggml's {@code [cols, rows]}; {@code null} marks a tensor the architecture lacks.
 *
 * @param tokenEmbedding {@code [dim, vocab]}
 * @param layers         per block
 * @param outputNorm     {@code [dim]}
 * @param output         {@code [dim, vocab]}; the token embedding itself when the file ties them
 */
public record ModelWeights(Weight tokenEmbedding, LayerWeights[] layers, Weight outputNorm, Weight output) implements AutoCloseable {

    /**
     * One transformer block.
     *
     * @param attnNorm          {@code [dim]}
     * @param wq                {@code [dim, heads*keyDim]}
     * @param wk                {@code [dim, kvHeads*keyDim]}
     * @param wv                {@code [dim, kvHeads*valueDim]}
     * @param qNorm             {@code [keyDim]} (Gemma 3: per-head RMSNorm of queries)
     * @param kNorm             {@code [keyDim]} (Gemma 3: per-head RMSNorm of keys)
     * @param wo                {@code [heads*valueDim, dim]}
     * @param postAttentionNorm {@code [dim]} (Gemma 3)
     * @param ffnNorm           {@code [dim]}
     * @param ffnGate           {@code [dim, ffnDim]}
     * @param ffnUp             {@code [dim, ffnDim]}
     * @param ffnDown           {@code [ffnDim, dim]}
     * @param postFfnNorm       {@code [dim]} (Gemma 3)
     */
    public record LayerWeights(Weight attnNorm, Weight wq, Weight wk, Weight wv, Weight qNorm, Weight kNorm, Weight wo,
                               Weight postAttentionNorm, Weight ffnNorm, Weight ffnGate, Weight ffnUp, Weight ffnDown,
                               Weight postFfnNorm) {
        Weight[] all() {
            return new Weight[] {attnNorm, wq, wk, wv, qNorm, kNorm, wo, postAttentionNorm, ffnNorm, ffnGate, ffnUp, ffnDown, postFfnNorm};
        }
    }

    /** Every weight once (the tied output head is the embedding), in load order. */
    public java.util.List<Weight> all() {
        java.util.Set<Weight> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        java.util.List<Weight> list = new java.util.ArrayList<>();
        java.util.function.Consumer<Weight> add = w -> {
            if (w != null && seen.add(w)) {
                list.add(w);
            }
        };
        add.accept(tokenEmbedding);
        for (LayerWeights l : layers) {
            for (Weight w : l.all()) {
                add.accept(w);
            }
        }
        add.accept(outputNorm);
        add.accept(output);
        return list;
    }

    /** Bytes the backend holds for these weights beyond the mapped file (repacked copies, device memory). */
    public long ownedBytes() {
        long n = 0;
        for (Weight w : all()) {
            n += w.ownedBytes();
        }
        return n;
    }

    /** Releases every weight on its backend (repacked copies, device buffers). */
    @Override
    public void close() {
        closeAll(all());
    }

    private static void closeAll(java.util.List<Weight> weights) {
        RuntimeException first = null;
        for (Weight w : weights) {
            try {
                w.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Checks every tensor's shape against the config and its block scales for corruption
     * ({@link BlockScales}), and prepares it on the backend.
     */
    public static ModelWeights load(GgufFile file, ModelConfig c, Backend backend) {
        return load(file, c, backend, LanguageModel.LoadProgress.NONE);
    }

    /** {@link #load(GgufFile, ModelConfig, Backend)}, reporting each layer prepared. */
    public static ModelWeights load(GgufFile file, ModelConfig c, Backend backend, LanguageModel.LoadProgress progress) {
        Loader l = new Loader(file, backend, new java.util.ArrayList<>());
        try {
            return load(l, file, c, progress);
        } catch (RuntimeException | Error e) {
            try {
                closeAll(l.prepared());
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static ModelWeights load(Loader l, GgufFile file, ModelConfig c, LanguageModel.LoadProgress progress) {
        boolean gemma = c.architecture().equals(Architecture.GEMMA3.ggufName());
        Weight embedding = l.get("token_embd.weight", c.dim(), c.vocabSize());
        LayerWeights[] layers = new LayerWeights[c.layers()];
        for (int i = 0; i < c.layers(); i++) {
            String b = "blk." + i + ".";
            layers[i] = new LayerWeights(
                    l.get(b + "attn_norm.weight", c.dim()),
                    l.get(b + "attn_q.weight", c.dim(), c.heads() * c.keyDim()),
                    l.get(b + "attn_k.weight", c.dim(), c.kvHeads() * c.keyDim()),
                    l.get(b + "attn_v.weight", c.dim(), c.kvHeads() * c.valueDim()),
                    gemma ? l.get(b + "attn_q_norm.weight", c.keyDim()) : null,
                    gemma ? l.get(b + "attn_k_norm.weight", c.keyDim()) : null,
                    l.get(b + "attn_output.weight", c.heads() * c.valueDim(), c.dim()),
                    gemma ? l.get(b + "post_attention_norm.weight", c.dim()) : null,
                    l.get(b + "ffn_norm.weight", c.dim()),
                    l.get(b + "ffn_gate.weight", c.dim(), c.ffnDim()),
                    l.get(b + "ffn_up.weight", c.dim(), c.ffnDim()),
                    l.get(b + "ffn_down.weight", c.ffnDim(), c.dim()),
                    gemma ? l.get(b + "post_ffw_norm.weight", c.dim()) : null);
            progress.layers(i + 1, c.layers());
        }
        Weight outputNorm = l.get("output_norm.weight", c.dim());
        Weight output = file.findTensor("output.weight").isPresent() ? l.get("output.weight", c.dim(), c.vocabSize()) : embedding;
        return new ModelWeights(embedding, layers, outputNorm, output);
    }

    /** Prepares tensors on the backend, remembering each so a failed load can release them. */
    private record Loader(GgufFile file, Backend backend, java.util.List<Weight> prepared) {
        Weight get(String name, long... shape) {
            GgufTensor t = file.tensor(name);
            long[] dims = t.dims();
            long[] trimmed = dims;
            // ggml pads shapes with trailing 1s; compare without them
            int n = dims.length;
            while (n > shape.length && dims[n - 1] == 1) {
                n--;
            }
            trimmed = Arrays.copyOf(dims, n);
            if (!Arrays.equals(trimmed, shape)) {
                throw new GgufFormatException(file.path() + ": tensor '" + name + "' has shape " + Arrays.toString(dims)
                        + ", the model's metadata implies " + Arrays.toString(shape) + " (tensor data at offset " + t.offset() + ")");
            }
            BlockScales.requireFinite(file.path().toString(), t);
            Weight w = backend.weight(t);
            prepared.add(w);
            return w;
        }
    }
}
