package dev.edgellm.core.backend.cpu;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.UnsupportedTensorException;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.util.WorkerPool;
import java.util.EnumSet;
import java.util.Set;

/**
 * Base of backends that compute on the CPU: weights stay in the memory-mapped file
 * ({@link HostWeight}), activations are heap float arrays ({@link HostActivations}), the KV cache
 * is a {@link HostKvCache}. Subclasses supply the math.
 */
public abstract class CpuBackend implements Backend {
    /** Weight types every CPU backend computes with. */
    public static final Set<GgmlType> TYPES = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0);

    protected final String id;
    protected final WorkerPool pool;

    protected CpuBackend(String id, int threads) {
        this.id = id;
        this.pool = new WorkerPool(threads, "edgellm-" + id);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    @Override
    public Weight weight(GgufTensor tensor) {
        if (!TYPES.contains(tensor.type())) {
            throw new UnsupportedTensorException("tensor '" + tensor.name() + "' has type " + tensor.type()
                    + ", which the " + id + " backend does not support (supported: " + TYPES + ")");
        }
        HostWeight w = new HostWeight(tensor);
        if (tensor.rows() == 1) {
            // a norm's gain vector: decoded now, while the loader reads the file, not at the first
            // forward pass (whose page faults would map its neighbours back in)
            w.floats();
        }
        return w;
    }

    @Override
    public Activations allocate(int floats) {
        return new HostActivations(floats);
    }

    @Override
    public void write(float[] src, int srcOffset, Activations dst, int dstOffset, int len) {
        System.arraycopy(src, srcOffset, host(dst), dstOffset, len);
    }

    @Override
    public void read(Activations src, int srcOffset, float[] dst, int dstOffset, int len) {
        System.arraycopy(host(src), srcOffset, dst, dstOffset, len);
    }

    @Override
    public void copy(Activations src, int srcOffset, Activations dst, int dstOffset, int len) {
        System.arraycopy(host(src), srcOffset, host(dst), dstOffset, len);
    }

    @Override
    public KvCache kvCache(KvCacheSpec spec) {
        return new HostKvCache(spec);
    }

    @Override
    public void kvStore(KvCache cache, int layer, Activations k, Activations v, int startPos, int n) {
        HostKvCache c = (HostKvCache) cache;
        float[] kk = host(k);
        float[] vv = host(v);
        for (int t = 0; t < n; t++) {
            c.store(layer, startPos + t, kk, t * c.keyRow(), vv, t * c.valueRow());
        }
    }

    @Override
    public void embed(Weight table, int[] tokens, int n, float scale, Activations out) {
        float[] o = host(out);
        int dim = table.cols();
        for (int t = 0; t < n; t++) {
            int tok = tokens[t];
            if (tok < 0 || tok >= table.rows()) {
                throw new IllegalArgumentException("token id " + tok + " is outside the vocabulary of " + table.rows());
            }
            decodeRow(table, tok, o, t * dim);
            if (scale != 1f) {
                for (int i = 0; i < dim; i++) {
                    o[t * dim + i] *= scale;
                }
            }
        }
    }

    @Override
    public void close() {
        pool.close();
    }

    /** Row {@code row} of a weight of this backend as floats into {@code out[off..off+cols)}. */
    protected void decodeRow(Weight w, int row, float[] out, int off) {
        HostWeight h = (HostWeight) w;
        Codecs.dequantizeRow(h.type(), h.data(), row * h.rowBytes(), out, off, h.cols());
    }

    /**
     * A small weight (a norm's gain vector) as floats: such weights are read whole on every use, and
     * they are a few KB, so the weight keeps its decoded copy.
     */
    protected float[] vector(Weight w) {
        return ((HostWeight) w).floats();
    }

    /** The float array behind a buffer of this backend. */
    protected static float[] host(Activations a) {
        return ((HostActivations) a).data;
    }
}
