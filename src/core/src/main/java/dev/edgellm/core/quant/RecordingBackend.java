package dev.edgellm.core.quant;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.HashMap;
import java.util.Map;

/**
 * A backend that runs another one and lets calibration look in: it hands the input activations of
 * one chosen weight's matrix products to a listener, and it can swap a weight for another tensor of
 * the same name (its quantized or rescaled version) while the model stays loaded. Everything else
 * passes straight through, so the forward pass is the model's own.
 */
final class RecordingBackend implements Backend {

    /** Receives the {@code [n][cols]} inputs of a product with the watched weight. */
    @FunctionalInterface
    interface InputListener {
        void accept(float[] x, int n);
    }

    /** A weight handle whose backing tensor can be replaced. */
    static final class Slot implements Weight {
        private final String name;
        private final int rows;
        private final int cols;
        private Weight current;

        Slot(String name, Weight w) {
            this.name = name;
            this.rows = w.rows();
            this.cols = w.cols();
            this.current = w;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public GgmlType type() {
            return current.type();
        }

        @Override
        public int rows() {
            return rows;
        }

        @Override
        public int cols() {
            return cols;
        }

        @Override
        public long ownedBytes() {
            return current.ownedBytes();
        }

        @Override
        public void close() {
            current.close();
        }
    }

    private final Backend delegate;
    private final Map<String, Slot> slots = new HashMap<>();
    private String watched;
    private InputListener listener;
    private float[] buffer = new float[0];

    RecordingBackend(Backend delegate) {
        this.delegate = delegate;
    }

    /** Sends the inputs of products with weight {@code name} to {@code l} until {@link #stopWatching()}. */
    void watch(String name, InputListener l) {
        this.watched = name;
        this.listener = l;
    }

    void stopWatching() {
        this.watched = null;
        this.listener = null;
    }

    /** Replaces the tensor behind weight {@code t.name()}; the shape must stay the same. */
    void replace(GgufTensor t) {
        Slot s = slots.get(t.name());
        if (s == null) {
            throw new IllegalArgumentException("the model has no weight '" + t.name() + "'");
        }
        if (t.rows() != s.rows || t.cols() != s.cols) {
            throw new IllegalArgumentException("weight '" + t.name() + "' is " + s.cols + "x" + s.rows + ", replacement " + t.cols() + "x" + t.rows());
        }
        Weight old = s.current;
        s.current = delegate.weight(t);
        old.close();
    }

    private static Weight unwrap(Weight w) {
        return w instanceof Slot s ? s.current : w;
    }

    @Override
    public String id() {
        return delegate.id();
    }

    @Override
    public int threads() {
        return delegate.threads();
    }

    @Override
    public Weight weight(GgufTensor tensor) {
        Slot s = new Slot(tensor.name(), delegate.weight(tensor));
        slots.put(tensor.name(), s);
        return s;
    }

    @Override
    public Activations allocate(int floats) {
        return delegate.allocate(floats);
    }

    @Override
    public void write(float[] src, int srcOffset, Activations dst, int dstOffset, int len) {
        delegate.write(src, srcOffset, dst, dstOffset, len);
    }

    @Override
    public void read(Activations src, int srcOffset, float[] dst, int dstOffset, int len) {
        delegate.read(src, srcOffset, dst, dstOffset, len);
    }

    @Override
    public void copy(Activations src, int srcOffset, Activations dst, int dstOffset, int len) {
        delegate.copy(src, srcOffset, dst, dstOffset, len);
    }

    @Override
    public KvCache kvCache(KvCacheSpec spec) {
        return delegate.kvCache(spec);
    }

    @Override
    public void embed(Weight table, int[] tokens, int n, float scale, Activations out) {
        delegate.embed(unwrap(table), tokens, n, scale, out);
    }

    @Override
    public void matmul(Weight w, Activations x, Activations out, int n) {
        if (listener != null && w.name().equals(watched)) {
            int len = Math.multiplyExact(n, w.cols());
            if (buffer.length < len) {
                buffer = new float[len];
            }
            delegate.read(x, 0, buffer, 0, len);
            listener.accept(buffer, n);
        }
        delegate.matmul(unwrap(w), x, out, n);
    }

    @Override
    public void rmsNorm(Activations x, Weight weight, Activations out, int width, int rows, float eps) {
        delegate.rmsNorm(x, unwrap(weight), out, width, rows, eps);
    }

    @Override
    public void rope(Activations x, int n, int heads, int headDim, int startPos, RopeSpec rope) {
        delegate.rope(x, n, heads, headDim, startPos, rope);
    }

    @Override
    public void kvStore(KvCache cache, int layer, Activations k, Activations v, int startPos, int n) {
        delegate.kvStore(cache, layer, k, v, startPos, n);
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations out) {
        delegate.attention(q, cache, layer, startPos, n, spec, out);
    }

    @Override
    public void geluMul(Activations gate, Activations up, int len) {
        delegate.geluMul(gate, up, len);
    }

    @Override
    public void siluMul(Activations gate, Activations up, int len) {
        delegate.siluMul(gate, up, len);
    }

    @Override
    public void add(Activations x, Activations y, int len) {
        delegate.add(x, y, len);
    }

    @Override
    public long ownedBytes() {
        return delegate.ownedBytes();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
