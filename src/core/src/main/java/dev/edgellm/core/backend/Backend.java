package dev.edgellm.core.backend;

import dev.edgellm.core.gguf.GgufTensor;

/**
 * The math a forward pass needs, on memory the backend owns.
 *
 * <p>Models never touch weights, activations or the KV cache directly: they hold handles
 * ({@link Weight}, {@link Activations}, {@link KvCache}) and call ops on them. A CPU backend keeps
 * handles in host memory (weights stay in the memory-mapped file); a GPU backend uploads weights
 * once, keeps activations and the KV cache on the device, and only {@link #read}/{@link #write}
 * cross the bus. Buffers holding several tokens are row-major {@code [tokens][width]}.
 *
 * <p>Numerics follow llama.cpp's CPU backend: matrix products against Q4_0/Q8_0 weights quantize
 * the activations to Q8_0 blocks first, F16 and BF16 weights meet activations rounded to the same
 * type; everything else is float32. The scalar backend is the oracle every other backend is
 * checked against (see the conformance suite in the core test jar).
 *
 * <p>Backends are not thread-safe: one forward pass at a time per instance.
 */
public interface Backend extends AutoCloseable {

    /** The provider id this backend came from. */
    String id();

    /** Compute threads in use. */
    int threads();

    // ---- memory ---------------------------------------------------------------------------------

    /**
     * Prepares a weight tensor for this backend.
     *
     * @throws UnsupportedTensorException when the backend cannot compute with the tensor's type
     */
    Weight weight(GgufTensor tensor);

    /**
     * Refuses a tensor that {@link #weight} would refuse for its type or shape, without preparing
     * anything (no copy, no upload): calibration checks every tensor of a model this way before it
     * measures a backend, so a backend that cannot run the whole model is never chosen.
     *
     * @throws UnsupportedTensorException naming the tensor, its type and the reason
     */
    void requireSupported(GgufTensor tensor);

    /** A zeroed activation buffer of {@code floats} floats. */
    Activations allocate(int floats);

    /** Copies {@code len} floats from host memory into {@code dst} at {@code dstOffset}. */
    void write(float[] src, int srcOffset, Activations dst, int dstOffset, int len);

    /** Copies {@code len} floats of {@code src} at {@code srcOffset} into host memory. */
    void read(Activations src, int srcOffset, float[] dst, int dstOffset, int len);

    /** Copies {@code len} floats between buffers of this backend (regions may not overlap). */
    void copy(Activations src, int srcOffset, Activations dst, int dstOffset, int len);

    /** A new, empty KV cache. */
    KvCache kvCache(KvCacheSpec spec);

    // ---- ops --------------------------------------------------------------------------------------

    /** {@code out[t] = table[tokens[t]] * scale} for {@code t < n}: embedding lookup. */
    void embed(Weight table, int[] tokens, int n, float scale, Activations out);

    /**
     * {@code out[t][r] = sum_c w[r][c] * x[t][c]} for {@code t < n}: matrix-vector when {@code n == 1},
     * matrix-matrix otherwise.
     */
    void matmul(Weight w, Activations x, Activations out, int n);

    /**
     * Several products of the same activations, {@code outs[i][t] = ws[i] . x[t]} (a layer's q, k and
     * v projections; an FFN's gate and up): the same results as one {@link #matmul} per weight, which
     * is what this default does. A backend may share the work (convert {@code x} once, one parallel
     * pass over all the weights' rows).
     */
    default void matmul(Weight[] ws, Activations x, Activations[] outs, int n) {
        for (int i = 0; i < ws.length; i++) {
            matmul(ws[i], x, outs[i], n);
        }
    }

    /**
     * RMSNorm over {@code rows} rows of {@code width}: {@code out = x / sqrt(mean(x^2) + eps) * weight}
     * ({@code weight} has {@code width} elements). {@code out} may be {@code x}.
     */
    void rmsNorm(Activations x, Weight weight, Activations out, int width, int rows, float eps);

    /**
     * Rotates {@code n} tokens of {@code heads} heads of {@code headDim} in place; token {@code t}
     * is at position {@code startPos + t}.
     */
    void rope(Activations x, int n, int heads, int headDim, int startPos, RopeSpec rope);

    /**
     * Stores keys {@code k[n][kvHeads*keyDim]} and values {@code v[n][kvHeads*valueDim]} of
     * positions {@code startPos..startPos+n-1} into layer {@code layer} of the cache.
     */
    void kvStore(KvCache cache, int layer, Activations k, Activations v, int startPos, int n);

    /**
     * Causal attention of {@code n} queries {@code q[n][heads*keyDim]} at positions
     * {@code startPos..} over layer {@code layer} of the cache (which already holds them):
     * {@code out[n][heads*valueDim]}. Softmax over {@code scale * q.k}, masked by the window.
     */
    void attention(Activations q, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations out);

    /** {@code gate = gelu_tanh(gate) * up} over {@code len} floats (Gemma's gated FFN). */
    void geluMul(Activations gate, Activations up, int len);

    /** {@code gate = silu(gate) * up} over {@code len} floats (Llama's SwiGLU FFN). */
    void siluMul(Activations gate, Activations up, int len);

    /** {@code x += y} over {@code len} floats (residual connection). */
    void add(Activations x, Activations y, int len);

    /**
     * Bytes this backend holds now outside the Java heap and the mapped model file: repacked
     * weights, device buffers. Handles given back ({@link Weight#close()},
     * {@link Activations#close()}, {@link KvCache#close()}) are no longer counted.
     */
    default long ownedBytes() {
        return 0;
    }

    /** Frees what this backend holds (worker threads, device memory). */
    @Override
    void close();
}
