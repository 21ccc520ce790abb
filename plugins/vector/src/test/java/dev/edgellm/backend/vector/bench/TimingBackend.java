package dev.edgellm.backend.vector.bench;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgufTensor;
import java.util.Map;
import java.util.TreeMap;

/**
 * A backend decorator that times every op (wall clock, so a parallel op counts once) and counts the
 * weight bytes matrix products read. Ops are grouped by kind; matrix products by weight role
 * ({@code blk.3.ffn_up.weight} counts as {@code matmul ffn_up}).
 */
public final class TimingBackend implements Backend {
    private final Backend b;
    private final Map<String, long[]> stats = new TreeMap<>();   // name -> {nanos, calls}
    private final Map<Weight, String> roles = new java.util.IdentityHashMap<>();
    private final Map<Weight, Long> bytes = new java.util.IdentityHashMap<>();
    private long weightBytes;

    public TimingBackend(Backend b) {
        this.b = b;
    }

    public void reset() {
        stats.clear();
        weightBytes = 0;
    }

    /** Weight bytes read by matrix products since the last reset. */
    public long weightBytes() {
        return weightBytes;
    }

    public Map<String, long[]> stats() {
        return stats;
    }

    private void record(String name, long t0) {
        long dt = System.nanoTime() - t0;
        long[] s = stats.computeIfAbsent(name, k -> new long[2]);
        s[0] += dt;
        s[1]++;
    }

    @Override
    public String id() {
        return b.id();
    }

    @Override
    public int threads() {
        return b.threads();
    }

    @Override
    public void requireSupported(GgufTensor tensor) {
        b.requireSupported(tensor);
    }

    @Override
    public Weight weight(GgufTensor tensor) {
        Weight w = b.weight(tensor);
        String n = tensor.name();
        String role = n.startsWith("blk.") ? n.substring(n.indexOf('.', 4) + 1).replace(".weight", "") : n.replace(".weight", "");
        roles.put(w, "matmul " + role);
        bytes.put(w, tensor.byteSize());
        return w;
    }

    @Override
    public Activations allocate(int floats) {
        return b.allocate(floats);
    }

    @Override
    public void write(float[] src, int srcOffset, Activations dst, int dstOffset, int len) {
        long t0 = System.nanoTime();
        b.write(src, srcOffset, dst, dstOffset, len);
        record("copy/read/write", t0);
    }

    @Override
    public void read(Activations src, int srcOffset, float[] dst, int dstOffset, int len) {
        long t0 = System.nanoTime();
        b.read(src, srcOffset, dst, dstOffset, len);
        record("copy/read/write", t0);
    }

    @Override
    public void copy(Activations src, int srcOffset, Activations dst, int dstOffset, int len) {
        long t0 = System.nanoTime();
        b.copy(src, srcOffset, dst, dstOffset, len);
        record("copy/read/write", t0);
    }

    @Override
    public KvCache kvCache(KvCacheSpec spec) {
        return b.kvCache(spec);
    }

    @Override
    public void embed(Weight table, int[] tokens, int n, float scale, Activations out) {
        long t0 = System.nanoTime();
        b.embed(table, tokens, n, scale, out);
        record("embed", t0);
    }

    @Override
    public void matmul(Weight w, Activations x, Activations out, int n) {
        long t0 = System.nanoTime();
        b.matmul(w, x, out, n);
        record(roles.getOrDefault(w, "matmul ?"), t0);
        weightBytes += bytes.getOrDefault(w, 0L);
    }

    @Override
    public void rmsNorm(Activations x, Weight weight, Activations out, int width, int rows, float eps) {
        long t0 = System.nanoTime();
        b.rmsNorm(x, weight, out, width, rows, eps);
        record("rmsNorm", t0);
    }

    @Override
    public void rope(Activations x, int n, int heads, int headDim, int startPos, RopeSpec rope) {
        long t0 = System.nanoTime();
        b.rope(x, n, heads, headDim, startPos, rope);
        record("rope", t0);
    }

    @Override
    public void kvStore(KvCache cache, int layer, Activations k, Activations v, int startPos, int n) {
        long t0 = System.nanoTime();
        b.kvStore(cache, layer, k, v, startPos, n);
        record("kvStore", t0);
    }

    @Override
    public void attention(Activations q, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations out) {
        long t0 = System.nanoTime();
        b.attention(q, cache, layer, startPos, n, spec, out);
        record("attention", t0);
    }

    @Override
    public void geluMul(Activations gate, Activations up, int len) {
        long t0 = System.nanoTime();
        b.geluMul(gate, up, len);
        record("geluMul", t0);
    }

    @Override
    public void siluMul(Activations gate, Activations up, int len) {
        long t0 = System.nanoTime();
        b.siluMul(gate, up, len);
        record("siluMul", t0);
    }

    @Override
    public void add(Activations x, Activations y, int len) {
        long t0 = System.nanoTime();
        b.add(x, y, len);
        record("add", t0);
    }

    @Override
    public void close() {
        b.close();
    }
}
