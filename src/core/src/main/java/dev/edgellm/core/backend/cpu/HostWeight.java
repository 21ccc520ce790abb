package dev.edgellm.core.backend.cpu;

import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import java.lang.foreign.MemorySegment;

/**
 * A weight a CPU backend reads in place: a slice of the memory-mapped GGUF file (no copy).
 *
 * @param tensor   the tensor
 * @param data     its bytes
 * @param rowBytes bytes of one row
 */
public record HostWeight(GgufTensor tensor, MemorySegment data, long rowBytes) implements Weight {

    public HostWeight(GgufTensor tensor) {
        this(tensor, tensor.data(), tensor.rowBytes());
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
}
