package dev.edgellm.core.backend.cpu;

import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import java.lang.foreign.MemorySegment;

/**
 * A weight a CPU backend reads in place: a slice of the memory-mapped GGUF file (no copy). Small
 * weights read whole on every use (a norm's gain vector) are decoded to floats once, on first use,
 * and kept with the weight, so they go away with it.
 */
public final class HostWeight implements Weight {
    private final GgufTensor tensor;
    private final MemorySegment data;
    private final long rowBytes;
    private volatile float[] floats;

    /**
     * @param tensor   the tensor
     * @param data     its bytes
     * @param rowBytes bytes of one row
     */
    public HostWeight(GgufTensor tensor, MemorySegment data, long rowBytes) {
        this.tensor = tensor;
        this.data = data;
        this.rowBytes = rowBytes;
    }

    public HostWeight(GgufTensor tensor) {
        this(tensor, tensor.data(), tensor.rowBytes());
    }

    public GgufTensor tensor() {
        return tensor;
    }

    public MemorySegment data() {
        return data;
    }

    public long rowBytes() {
        return rowBytes;
    }

    /** Every element as floats, decoded on first use (for small weights: norms). */
    public float[] floats() {
        float[] v = floats;
        if (v == null) {
            v = new float[Math.multiplyExact(rows(), cols())];
            Codecs.dequantizeRow(type(), data, 0, v, 0, v.length);
            floats = v;
        }
        return v;
    }

    @Override
    public String name() {
        return tensor.name();
    }

    @Override
    public GgmlType type() {
        return tensor.type();
    }

    @Override
    public int rows() {
        return tensor.rows();
    }

    @Override
    public int cols() {
        return tensor.cols();
    }

    @Override
    public void close() {
        floats = null;
    }

    @Override
    public String toString() {
        return "HostWeight[" + tensor + "]";
    }
}
