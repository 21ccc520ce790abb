package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.R;
import static dev.edgellm.core.tensor.KQuants.QK_K;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.KQuants;
import dev.edgellm.core.util.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Q4_K, Q5_K or Q6_K weight repacked at load time into {@link Simd#R}-row groups in memory this
 * backend owns, for {@link KQuantKernels}: each lane of a vector is one row, so one byte load
 * gives one weight byte of R rows. Scales are unpacked at load (the 12-byte 6-bit packing of
 * Q4_K/Q5_K, the fp16 super-block scales to floats, exactly), so the kernels do no bit surgery on
 * them.
 *
 * <h2>Layout</h2>
 * Group {@code g}'s super-block {@code b} is one record of {@link #blockBytes()} bytes at
 * {@code (g * superBlocks + b) * blockBytes}; padding rows of the last group are zero (they compute
 * to zero and are never stored). Arrays are {@code [index][R]}, row fastest:
 * <pre>
 *   Q4_K: float d[R], float dmin[R], byte scale[8][R], byte min[8][R], byte qs[128][R]      152 bytes per row
 *   Q5_K: as Q4_K, then byte qh[32][R]                                                       184 bytes per row
 *   Q6_K: float d[R], byte scale[16][R] (signed), byte q[256][R] (q - 32, element order)    276 bytes per row
 * </pre>
 * {@code qs} and {@code qh} are the file's bytes (byte {@code 32j + l} holds elements
 * {@code 64j + l} and {@code 64j + 32 + l}); Q6_K's six-bit quants are joined from its two planes.
 * The copies are 6 % (Q4_K), 5 % (Q5_K) and 31 % (Q6_K) larger than the file's blocks.
 */
final class PackedKWeight extends RepackedWeight {
    static final int Q4_K_D = 0;
    static final int Q4_K_DMIN = 4;
    static final int Q4_K_SCALES = 8;
    static final int Q4_K_MINS = 16;
    static final int Q4_K_QS = 24;
    static final int Q5_K_QH = 152;
    static final int Q6_K_SCALES = 4;
    static final int Q6_K_Q = 20;

    private final int superBlocks;

    private PackedKWeight(GgufTensor t, Arena arena, MemorySegment data, AtomicLong held) {
        super(t.name(), t.type(), t.rows(), t.cols(), blockBytes(t.type()), arena, data, held);
        this.superBlocks = t.cols() / QK_K;
    }

    /** Whether weights of this type are repacked here. */
    static boolean packs(GgmlType type) {
        return type == GgmlType.Q4_K || type == GgmlType.Q5_K || type == GgmlType.Q6_K;
    }

    /** Bytes of one group's super-block record. */
    static long blockBytes(GgmlType type) {
        return (long) R * switch (type) {
            case Q4_K -> 152;
            case Q5_K -> 184;
            case Q6_K -> 276;
            default -> throw new IllegalArgumentException("not a K-quant: " + type);
        };
    }

    /** Repacks {@code t} (groups split over {@code pool}), then drops its mapped pages; {@code held} counts live copies' bytes. */
    static PackedKWeight of(GgufTensor t, WorkerPool pool, AtomicLong held) {
        if (!packs(t.type())) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': only Q4_K, Q5_K and Q6_K weights are repacked here, not " + t.type());
        }
        if (t.cols() % QK_K != 0) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': a " + t.type() + " row must be a multiple of " + QK_K + " long, got " + t.cols());
        }
        long bytes = (long) PackedWeight.groups(t.rows()) * (t.cols() / QK_K) * blockBytes(t.type());
        return repack(t, bytes, 1, pool, held, (arena, data) -> new PackedKWeight(t, arena, data, held),
                (w, src, rowBytes, g0, g1) -> {
                    byte[] out = new byte[Math.toIntExact(w.blockBytes)];
                    for (int g = g0; g < g1; g++) {
                        for (int b = 0; b < w.superBlocks; b++) {
                            w.packBlock(src, rowBytes, g, b, out);
                            MemorySegment.copy(out, 0, w.data, ValueLayout.JAVA_BYTE, ((long) g * w.superBlocks + b) * w.blockBytes, out.length);
                        }
                    }
                });
    }

    /** Fills {@code out} with the record of group {@code g}, super-block {@code b}. */
    private void packBlock(MemorySegment src, long rowBytes, int g, int b, byte[] out) {
        java.util.Arrays.fill(out, (byte) 0);
        int nr = Math.min(R, rows - g * R);
        int bpb = type.bytesPerBlock();
        for (int r = 0; r < nr; r++) {
            long blk = (long) (g * R + r) * rowBytes + (long) b * bpb;
            if (type == GgmlType.Q6_K) {
                putFloat(out, 4 * r, Float.float16ToFloat(src.get(dev.edgellm.core.tensor.Codecs.LE_SHORT, blk + KQuants.Q6_K_D)));
                for (int s = 0; s < 16; s++) {
                    out[Q6_K_SCALES * R + s * R + r] = src.get(ValueLayout.JAVA_BYTE, blk + KQuants.Q6_K_SCALES + s);
                }
                for (int e = 0; e < QK_K; e++) {
                    out[Q6_K_Q * R + e * R + r] = (byte) (KQuants.q6(src, blk, e) - 32);
                }
                continue;
            }
            long scales = blk + KQuants.Q4_K_SCALES;   // the same offset in Q5_K
            putFloat(out, Q4_K_D * R + 4 * r, Float.float16ToFloat(src.get(dev.edgellm.core.tensor.Codecs.LE_SHORT, blk)));
            putFloat(out, Q4_K_DMIN * R + 4 * r, Float.float16ToFloat(src.get(dev.edgellm.core.tensor.Codecs.LE_SHORT, blk + 2)));
            for (int j = 0; j < 8; j++) {
                out[Q4_K_SCALES * R + j * R + r] = (byte) KQuants.scale(src, scales, j);
                out[Q4_K_MINS * R + j * R + r] = (byte) KQuants.min(src, scales, j);
            }
            long qs = blk + (type == GgmlType.Q5_K ? KQuants.Q5_K_QS : KQuants.Q4_K_QS);
            for (int i = 0; i < 128; i++) {
                out[Q4_K_QS * R + i * R + r] = src.get(ValueLayout.JAVA_BYTE, qs + i);
            }
            if (type == GgmlType.Q5_K) {
                for (int i = 0; i < 32; i++) {
                    out[Q5_K_QH * R + i * R + r] = src.get(ValueLayout.JAVA_BYTE, blk + KQuants.Q5_K_QH + i);
                }
            }
        }
    }

    private static void putFloat(byte[] out, int at, float v) {
        int bits = Float.floatToRawIntBits(v);
        out[at] = (byte) bits;
        out[at + 1] = (byte) (bits >>> 8);
        out[at + 2] = (byte) (bits >>> 16);
        out[at + 3] = (byte) (bits >>> 24);
    }

    /** Row {@code row} as floats into {@code out[off..off+cols)}: exactly {@code Codecs.dequantizeRow}'s values. */
    @Override
    void decodeRow(int row, float[] out, int off) {
        int g = row / R;
        int r = row % R;
        ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < superBlocks; b++) {
            long p = ((long) g * superBlocks + b) * blockBytes;
            int o = off + b * QK_K;
            if (type == GgmlType.Q6_K) {
                float d = data.get(f, p + 4L * r);
                for (int e = 0; e < QK_K; e++) {
                    int sc = data.get(ValueLayout.JAVA_BYTE, p + (long) Q6_K_SCALES * R + (long) (e / 16) * R + r);
                    out[o + e] = d * sc * data.get(ValueLayout.JAVA_BYTE, p + (long) Q6_K_Q * R + (long) e * R + r);
                }
                continue;
            }
            float d = data.get(f, p + (long) Q4_K_D * R + 4L * r);
            float dmin = data.get(f, p + (long) Q4_K_DMIN * R + 4L * r);
            for (int sub = 0; sub < 8; sub++) {
                float ds = d * data.get(ValueLayout.JAVA_BYTE, p + (long) Q4_K_SCALES * R + (long) sub * R + r);
                float ms = dmin * data.get(ValueLayout.JAVA_BYTE, p + (long) Q4_K_MINS * R + (long) sub * R + r);
                for (int l = 0; l < 32; l++) {
                    int packed = data.get(ValueLayout.JAVA_BYTE, p + (long) Q4_K_QS * R + (long) (32 * (sub / 2) + l) * R + r) & 0xFF;
                    int q = (sub & 1) == 0 ? packed & 0xF : packed >>> 4;
                    if (type == GgmlType.Q5_K) {
                        int h = data.get(ValueLayout.JAVA_BYTE, p + (long) Q5_K_QH * R + (long) l * R + r) & 0xFF;
                        q += ((h >>> sub) & 1) << 4;
                    }
                    out[o + 32 * sub + l] = ds * q - ms;
                }
            }
        }
    }

    int superBlocks() {
        return superBlocks;
    }
}
