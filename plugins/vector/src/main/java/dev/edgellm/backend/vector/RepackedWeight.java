package dev.edgellm.backend.vector;

import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A weight repacked into this backend's own off-heap memory, in {@link Simd#R}-row groups of
 * {@link #blockBytes()}-byte block records: what {@link PackedWeight} (Q4_0, Q8_0, Q5_0) and
 * {@link PackedKWeight} (Q4_K, Q5_K, Q6_K) share. It owns its arena: {@link #close()} frees the
 * copy and takes its bytes back from the backend's count.
 */
abstract sealed class RepackedWeight implements Weight permits PackedWeight, PackedKWeight {
    final String name;
    final GgmlType type;
    final int rows;
    final int cols;
    final int groups;
    final long blockBytes;
    private final Arena arena;
    /** The packed records, 64-byte aligned. */
    final MemorySegment data;
    private final AtomicLong held;
    private volatile float[] floats;
    private volatile boolean closed;

    RepackedWeight(String name, GgmlType type, int rows, int cols, long blockBytes, Arena arena, MemorySegment data, AtomicLong held) {
        this.name = name;
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.groups = PackedWeight.groups(rows);
        this.blockBytes = blockBytes;
        this.arena = arena;
        this.data = data;
        this.held = held;
    }

    /** Row {@code row} as floats into {@code out[off..off+cols)}: exactly {@code Codecs.dequantizeRow}'s values. */
    abstract void decodeRow(int row, float[] out, int off);

    /** Every element as floats, decoded on first use (only for small weights read whole). */
    final float[] floats() {
        float[] v = floats;
        if (v == null) {
            v = new float[Math.multiplyExact(rows, cols)];
            for (int r = 0; r < rows; r++) {
                decodeRow(r, v, r * cols);
            }
            floats = v;
        }
        return v;
    }

    /** Absolute address of the packed data (the kernels read it through {@link Simd#ALL}). */
    final long address() {
        if (closed) {
            throw new IllegalStateException("weight '" + name + "' was released (its model was closed)");
        }
        return data.address();
    }

    final int groups() {
        return groups;
    }

    final long blockBytes() {
        return blockBytes;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    @Override
    public final long ownedBytes() {
        return closed ? 0 : data.byteSize();
    }

    @Override
    public final synchronized void close() {
        if (!closed) {
            closed = true;
            floats = null;
            arena.close();
            held.addAndGet(-data.byteSize());
        }
    }

    @Override
    public final String toString() {
        return getClass().getSimpleName() + "[" + name + " " + type + " " + rows + "x" + cols + ", " + Simd.R + "-row groups]";
    }
}
