package dev.edgellm.backend.vector;

import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.util.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;

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

    /** Packs groups {@code [g0, g1)} of {@code w} from the ggml rows in {@code src} (called by several threads at once). */
    interface GroupPacker<W extends RepackedWeight> {
        void pack(W w, MemorySegment src, long rowBytes, int g0, int g1);
    }

    /**
     * Repacks tensor {@code t} into {@code bytes} of new 64-byte aligned memory: {@code make} wraps
     * the memory in a weight, {@code packer} fills its groups, split over {@code pool}'s threads
     * ({@code grain} groups at least per piece). The rows of each piece have their mapped pages
     * dropped as soon as they are copied, so the copy never doubles a large tensor's pages. The copy
     * is counted in {@code held}; on failure its memory is freed.
     */
    static <W extends RepackedWeight> W repack(GgufTensor t, long bytes, int grain, WorkerPool pool, AtomicLong held,
                                               BiFunction<Arena, MemorySegment, W> make, GroupPacker<W> packer) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment data = arena.allocate(Math.max(1, bytes), 64);
            W w = make.apply(arena, data);
            MemorySegment src = t.data();
            long rowBytes = t.rowBytes();
            int r = Simd.R;
            pool.parallelFor(w.groups, grain, (g0, g1) -> {
                packer.pack(w, src, rowBytes, g0, g1);
                if (src.isMapped()) {
                    long from = (long) g0 * r * rowBytes;
                    src.asSlice(from, Math.min(src.byteSize(), (long) g1 * r * rowBytes) - from).unload();
                }
            });
            if (src.isMapped()) {
                src.unload();
            }
            held.addAndGet(data.byteSize());
            return w;
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
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
