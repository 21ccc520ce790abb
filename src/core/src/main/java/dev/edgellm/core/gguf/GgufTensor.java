package dev.edgellm.core.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file: a zero-copy slice of the memory-mapped file.
 *
 * @param name    tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param type    element type
 * @param dims    ggml dims, fastest-varying first: {@code dims[0]} is the row length (columns)
 * @param offset  absolute byte offset of the data in the file
 * @param data    the tensor bytes (a slice of the mapping; read-only)
 */
public record GgufTensor(String name, GgmlType type, long[] dims, long offset, MemorySegment data) {

    /** Total element count. */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Row length: elements in dim 0 (the input features of a weight matrix). */
    public int cols() {
        return Math.toIntExact(dims[0]);
    }

    /** Number of rows: the product of all dims past the first (the output features of a weight matrix). */
    public int rows() {
        return Math.toIntExact(elements() / dims[0]);
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return type.byteSize(dims[0]);
    }

    public long byteSize() {
        return data.byteSize();
    }

    /** Shape as ggml prints it: {@code [128, 262144]}. */
    public String shape() {
        return Arrays.toString(dims);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t && t.name.equals(name) && t.offset == offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name + " " + type + " " + shape() + " @" + offset;
    }
}
