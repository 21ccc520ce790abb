package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.R;
import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.QK;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.util.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Q4_0, Q5_0 or Q8_0 weight repacked at load time into row-interleaved groups, in memory this backend
 * owns (an {@link Arena} per weight, freed by {@link #close()}), so that the integer kernels
 * ({@link IntKernels}) load one byte of {@link Simd#R} rows with one vector load.
 *
 * <h2>Layout</h2>
 * Rows are taken in groups of {@link Simd#R} (32 at 512 bits); the last group is padded with
 * zero rows (zero scale, zero quants: they compute to nothing and are never stored). Group
 * {@code g}'s block column {@code b} (columns {@code [32b, 32b+32)} of its rows) is one record of
 * {@link #blockBytes()} bytes at {@code (g * blocks + b) * blockBytes}, so each group is one
 * contiguous stream:
 * <pre>
 *   fp16 d[R]                the R rows' scales, row order
 *   Q4_0: byte q[16][R]      q[j][r] = byte j of row r's block (low nibble: column j, high: j + 16)
 *   Q8_0: byte q[32][R]      q[j][r] = quant j of row r's block (signed)
 *   Q5_0: short q[10][R]     q[w][r] = word w of row r: three 5-bit quants and one bit of a fourth ({@link Q5_0Kernels})
 * </pre>
 * A record holds exactly what {@code R} ggml blocks hold (18, 34 or 22 bytes per row), so the copy
 * is the size of the tensor (plus the padding rows). For Q4_0 and Q8_0 the bytes are the file's
 * bytes, moved; Q5_0's nibbles and fifth bits are the file's bits, regrouped into 16-bit words.
 *
 * <p>Repacking reads the tensor once through the mapping and then drops the mapped pages from the
 * process ({@link MemorySegment#unload()}, {@code madvise(MADV_DONTNEED)}): the copy replaces
 * them in resident memory instead of adding to them.
 */
final class PackedWeight extends RepackedWeight {
    private final int blocks;

    private PackedWeight(String name, GgmlType type, int rows, int cols, Arena arena, MemorySegment data, AtomicLong held) {
        super(name, type, rows, cols, blockBytes(type), arena, data, held);
        this.blocks = cols / QK;
    }

    /** Whether weights of this type are repacked (the integer kernels' types). */
    static boolean packs(GgmlType type) {
        return type == GgmlType.Q4_0 || type == GgmlType.Q8_0 || type == GgmlType.Q5_0;
    }

    /** Row groups of a tensor with {@code rows} rows. */
    static int groups(int rows) {
        return (rows + R - 1) / R;
    }

    /** Bytes of one group's block record: R scales and R blocks' quants, as many bytes as R ggml blocks. */
    static long blockBytes(GgmlType type) {
        return (long) R * type.bytesPerBlock();
    }

    /** Bytes the repacked copy of a {@code rows x cols} tensor of {@code type} takes. */
    static long packedBytes(GgmlType type, int rows, int cols) {
        return (long) groups(rows) * (cols / QK) * blockBytes(type);
    }

    /**
     * Repacks {@code t} (Q4_0, Q5_0 or Q8_0, rows a multiple of 32 long) into a new weight, groups split
     * over {@code pool}'s threads, then drops the tensor's mapped pages. {@code held} counts the
     * bytes of live copies (added here, taken back by {@link #close()}).
     */
    static PackedWeight of(GgufTensor t, WorkerPool pool, AtomicLong held) {
        GgmlType type = t.type();
        if (!packs(type)) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': only Q4_0, Q5_0 and Q8_0 weights are repacked, not " + type);
        }
        int cols = t.cols();
        int rows = t.rows();
        if (cols % QK != 0) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': a " + type + " row must be a multiple of " + QK + " long, got " + cols);
        }
        return repack(t, packedBytes(type, rows, cols), 4, pool, held,
                (arena, data) -> new PackedWeight(t.name(), type, rows, cols, arena, data, held),
                (w, src, rowBytes, g0, g1) -> {
                    byte[] in = new byte[Math.toIntExact(R * rowBytes)];
                    byte[] out = new byte[Math.toIntExact(w.blocks * w.blockBytes)];
                    for (int g = g0; g < g1; g++) {
                        w.packGroup(src, rowBytes, g, in, out);
                    }
                });
    }

    /**
     * Fills group {@code g} from the ggml rows in {@code src}: the group's rows are copied in one
     * piece to {@code in} (they are contiguous in the file), interleaved into {@code out} in Java
     * arrays, and copied out in one piece. Quants move in 8x8-byte tiles (eight rows' eight bytes
     * as eight longs, transposed by three rounds of masked swaps), eight times fewer memory
     * accesses than byte by byte.
     */
    private void packGroup(MemorySegment src, long rowBytes, int g, byte[] in, byte[] out) {
        int bpb = type.bytesPerBlock();
        int quants = bpb - 2;
        int rb = (int) rowBytes;
        int bb = (int) blockBytes;
        int nr = Math.min(R, rows - g * R);
        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) g * R * rowBytes, in, 0, nr * rb);
        if (nr < R) {
            // padding rows read as zeros: zero scale, zero quants
            java.util.Arrays.fill(in, nr * rb, R * rb, (byte) 0);
        }
        for (int b = 0, i = 0, o = 0; b < blocks; b++, i += bpb, o += bb) {
            if (type == GgmlType.Q5_0) {
                requireFiniteScales(in, rb, i, g, b, nr, rowBytes, bpb);
                Q5_0Kernels.pack(in, rb, i, nr, out, o);
                continue;
            }
            for (int r = 0; r < nr; r++) {
                byte lo = in[r * rb + i];
                byte hi = in[r * rb + i + 1];
                if ((hi & 0x7c) == 0x7c) {
                    throw new IllegalArgumentException(String.format("tensor '%s': block %d of row %d has a non-finite scale (fp16 bits "
                            + "0x%02x%02x, byte %d of the tensor data)", name, b, g * R + r, hi & 0xFF, lo & 0xFF,
                            (long) (g * R + r) * rowBytes + (long) b * bpb));
                }
                out[o + 2 * r] = lo;
                out[o + 2 * r + 1] = hi;
            }
            for (int r = nr; r < R; r++) {
                out[o + 2 * r] = 0;
                out[o + 2 * r + 1] = 0;
            }
            for (int r0 = 0; r0 < R; r0 += 8) {
                for (int j0 = 0; j0 < quants; j0 += 8) {
                    transpose8(in, r0 * rb + i + 2 + j0, rb, out, o + 2 * R + j0 * R + r0, R);
                }
            }
        }
        MemorySegment.copy(out, 0, data, ValueLayout.JAVA_BYTE, (long) g * blocks * blockBytes, out.length);
    }

    /** The check of {@link #packGroup}'s Q4_0/Q8_0 path for the {@code nr} rows of block {@code b} at {@code in[r * rb + i]}. */
    private void requireFiniteScales(byte[] in, int rb, int i, int g, int b, int nr, long rowBytes, int bpb) {
        for (int r = 0; r < nr; r++) {
            byte lo = in[r * rb + i];
            byte hi = in[r * rb + i + 1];
            if ((hi & 0x7c) == 0x7c) {
                throw new IllegalArgumentException(String.format("tensor '%s': block %d of row %d has a non-finite scale (fp16 bits "
                        + "0x%02x%02x, byte %d of the tensor data)", name, b, g * R + r, hi & 0xFF, lo & 0xFF,
                        (long) (g * R + r) * rowBytes + (long) b * bpb));
            }
        }
    }

    private static final java.lang.invoke.VarHandle LONG =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /**
     * Eight bytes of each of eight rows ({@code in[i + k*rowStride ..]}, k < 8) to eight runs of
     * eight bytes ({@code out[o + j*colStride ..]} holds byte {@code j} of rows 0..7).
     */
    private static void transpose8(byte[] in, int i, int rowStride, byte[] out, int o, int colStride) {
        long a0 = (long) LONG.get(in, i);
        long a1 = (long) LONG.get(in, i + rowStride);
        long a2 = (long) LONG.get(in, i + 2 * rowStride);
        long a3 = (long) LONG.get(in, i + 3 * rowStride);
        long a4 = (long) LONG.get(in, i + 4 * rowStride);
        long a5 = (long) LONG.get(in, i + 5 * rowStride);
        long a6 = (long) LONG.get(in, i + 6 * rowStride);
        long a7 = (long) LONG.get(in, i + 7 * rowStride);
        // bytes between rows 2k and 2k+1
        long t;
        t = ((a0 >>> 8) ^ a1) & 0x00FF00FF00FF00FFL; a1 ^= t; a0 ^= t << 8;
        t = ((a2 >>> 8) ^ a3) & 0x00FF00FF00FF00FFL; a3 ^= t; a2 ^= t << 8;
        t = ((a4 >>> 8) ^ a5) & 0x00FF00FF00FF00FFL; a5 ^= t; a4 ^= t << 8;
        t = ((a6 >>> 8) ^ a7) & 0x00FF00FF00FF00FFL; a7 ^= t; a6 ^= t << 8;
        // byte pairs between rows k and k+2
        t = ((a0 >>> 16) ^ a2) & 0x0000FFFF0000FFFFL; a2 ^= t; a0 ^= t << 16;
        t = ((a1 >>> 16) ^ a3) & 0x0000FFFF0000FFFFL; a3 ^= t; a1 ^= t << 16;
        t = ((a4 >>> 16) ^ a6) & 0x0000FFFF0000FFFFL; a6 ^= t; a4 ^= t << 16;
        t = ((a5 >>> 16) ^ a7) & 0x0000FFFF0000FFFFL; a7 ^= t; a5 ^= t << 16;
        // byte quads between rows k and k+4
        t = ((a0 >>> 32) ^ a4) & 0x00000000FFFFFFFFL; a4 ^= t; a0 ^= t << 32;
        t = ((a1 >>> 32) ^ a5) & 0x00000000FFFFFFFFL; a5 ^= t; a1 ^= t << 32;
        t = ((a2 >>> 32) ^ a6) & 0x00000000FFFFFFFFL; a6 ^= t; a2 ^= t << 32;
        t = ((a3 >>> 32) ^ a7) & 0x00000000FFFFFFFFL; a7 ^= t; a3 ^= t << 32;
        LONG.set(out, o, a0);
        LONG.set(out, o + colStride, a1);
        LONG.set(out, o + 2 * colStride, a2);
        LONG.set(out, o + 3 * colStride, a3);
        LONG.set(out, o + 4 * colStride, a4);
        LONG.set(out, o + 5 * colStride, a5);
        LONG.set(out, o + 6 * colStride, a6);
        LONG.set(out, o + 7 * colStride, a7);
    }

    /** Elements of row {@code row} as floats into {@code out[off..off+cols)}: exactly {@code Codecs.dequantizeRow}'s values. */
    @Override
    void decodeRow(int row, float[] out, int off) {
        int g = row / R;
        int r = row % R;
        long o = (long) g * blocks * blockBytes;
        for (int b = 0; b < blocks; b++, o += blockBytes) {
            float d = Float.float16ToFloat(data.get(LE_SHORT, o + 2L * r));
            long q = o + 2L * R + r;
            int x = off + b * QK;
            if (type == GgmlType.Q5_0) {
                // the layout of Q5_0Kernels: word w holds quants 3w..3w+2 and bit w % 5 of quant 30 + w / 5
                int split = 0;
                for (int w = 0; w < Q5_0Kernels.WORDS; w++) {
                    int word = data.get(LE_SHORT, q + (long) w * 2 * R + r) & 0xFFFF;
                    out[x + 3 * w] = ((word & 31) - 16) * d;
                    out[x + 3 * w + 1] = (((word >>> 5) & 31) - 16) * d;
                    out[x + 3 * w + 2] = (((word >>> 10) & 31) - 16) * d;
                    split |= (word >>> 15) << w;
                }
                out[x + 30] = ((split & 31) - 16) * d;
                out[x + 31] = ((split >>> 5) - 16) * d;
            } else if (type == GgmlType.Q4_0) {
                for (int j = 0; j < 16; j++) {
                    int packed = data.get(ValueLayout.JAVA_BYTE, q + (long) j * R) & 0xFF;
                    out[x + j] = d * ((packed & 0x0F) - 8);
                    out[x + j + 16] = d * ((packed >>> 4) - 8);
                }
            } else {
                for (int j = 0; j < QK; j++) {
                    out[x + j] = d * data.get(ValueLayout.JAVA_BYTE, q + (long) j * R);
                }
            }
        }
    }

    int blocks() {
        return blocks;
    }
}
