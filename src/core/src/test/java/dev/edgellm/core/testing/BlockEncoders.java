package dev.edgellm.core.testing;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.tensor.KQuants;
import dev.edgellm.core.tensor.LegacyQuants;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Test encoders for the Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K blocks: straightforward min/max
 * quantizers (ggml's reference ones for the 32-weight types; for the K-quants plain rounding
 * instead of ggml's iterative scale search), which are all backend tests need: the kernels are
 * checked against the decoded weights, whatever they are. They also pin the block packing the
 * decoders read (the 6-bit scales of Q4_K/Q5_K, the Q6_K ql/qh split, the fifth bits).
 */
public final class BlockEncoders {
    private BlockEncoders() {}

    /** Encodes {@code n} values of {@code x} from {@code off} as a row of {@code type} at byte {@code base}. */
    public static void encodeRow(GgmlType type, float[] x, int off, int n, MemorySegment s, long base) {
        int blocks = n / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            long at = base + (long) b * type.bytesPerBlock();
            int xo = off + b * type.blockSize();
            switch (type) {
                case Q4_1 -> q4_1(x, xo, s, at);
                case Q5_0 -> q5_0(x, xo, s, at);
                case Q5_1 -> q5_1(x, xo, s, at);
                case Q4_K -> qK(x, xo, s, at, false);
                case Q5_K -> qK(x, xo, s, at, true);
                case Q6_K -> q6_K(x, xo, s, at);
                default -> throw new IllegalArgumentException("no block encoder for " + type);
            }
        }
    }

    /** Whether {@link #encodeRow} handles {@code type}. */
    public static boolean handles(GgmlType type) {
        return switch (type) {
            case Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    // quantize_row_q4_1_ref
    private static void q4_1(float[] x, int xo, MemorySegment s, long at) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            min = Math.min(min, x[xo + j]);
            max = Math.max(max, x[xo + j]);
        }
        float d = (max - min) / 15f;
        float id = d != 0 ? 1f / d : 0f;
        s.set(Codecs.LE_SHORT, at, Codecs.f32ToF16(d));
        s.set(Codecs.LE_SHORT, at + 2, Codecs.f32ToF16(min));
        for (int j = 0; j < 16; j++) {
            int q0 = Math.min(15, (int) ((x[xo + j] - min) * id + 0.5f));
            int q1 = Math.min(15, (int) ((x[xo + j + 16] - min) * id + 0.5f));
            s.set(ValueLayout.JAVA_BYTE, at + LegacyQuants.Q4_1_QS + j, (byte) (q0 | (q1 << 4)));
        }
    }

    // quantize_row_q5_0_ref
    private static void q5_0(float[] x, int xo, MemorySegment s, long at) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < 32; j++) {
            if (amax < Math.abs(x[xo + j])) {
                amax = Math.abs(x[xo + j]);
                max = x[xo + j];
            }
        }
        float d = max / -16f;
        float id = d != 0 ? 1f / d : 0f;
        s.set(Codecs.LE_SHORT, at, Codecs.f32ToF16(d));
        int[] q = new int[32];
        for (int j = 0; j < 32; j++) {
            q[j] = Math.min(31, (int) (x[xo + j] * id + 16.5f));
        }
        packFive(q, s, at + LegacyQuants.Q5_0_QH, at + LegacyQuants.Q5_0_QS);
    }

    // quantize_row_q5_1_ref
    private static void q5_1(float[] x, int xo, MemorySegment s, long at) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            min = Math.min(min, x[xo + j]);
            max = Math.max(max, x[xo + j]);
        }
        float d = (max - min) / 31f;
        float id = d != 0 ? 1f / d : 0f;
        s.set(Codecs.LE_SHORT, at, Codecs.f32ToF16(d));
        s.set(Codecs.LE_SHORT, at + 2, Codecs.f32ToF16(min));
        int[] q = new int[32];
        for (int j = 0; j < 32; j++) {
            q[j] = Math.min(31, (int) ((x[xo + j] - min) * id + 0.5f));
        }
        packFive(q, s, at + LegacyQuants.Q5_1_QH, at + LegacyQuants.Q5_1_QS);
    }

    /** 5-bit quants: low nibbles as in Q4_0 (element j in byte j%16), fifth bit of element j in bit j of qh. */
    public static void packFive(int[] q, MemorySegment s, long qh, long qs) {
        int bits = 0;
        for (int j = 0; j < 16; j++) {
            s.set(ValueLayout.JAVA_BYTE, qs + j, (byte) ((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4)));
            bits |= ((q[j] >> 4) & 1) << j;
            bits |= ((q[j + 16] >> 4) & 1) << (j + 16);
        }
        s.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), qh, bits);
    }

    /**
     * Packs eight 6-bit scales and mins into the 12 bytes at {@code at}, as quantize_row_q4_K_ref
     * does: the inverse of {@link KQuants#scale}/{@link KQuants#min}.
     */
    public static void packScales(int[] ls, int[] lm, MemorySegment s, long at) {
        byte[] sc = new byte[12];
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                sc[j] = (byte) ls[j];
                sc[j + 4] = (byte) lm[j];
            } else {
                sc[j + 4] = (byte) ((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
                sc[j - 4] |= (byte) ((ls[j] >> 4) << 6);
                sc[j] |= (byte) ((lm[j] >> 4) << 6);
            }
        }
        MemorySegment.copy(sc, 0, s, ValueLayout.JAVA_BYTE, at, 12);
    }

    private static int nearest(float v) {
        return (int) Math.rint(v);
    }

    private static void qK(float[] x, int xo, MemorySegment s, long at, boolean five) {
        int qmax = five ? 31 : 15;
        float[] scales = new float[8];
        float[] mins = new float[8];
        float maxScale = 0f;
        float maxMin = 0f;
        for (int j = 0; j < 8; j++) {
            float min = 0f;
            float max = 0f;
            for (int l = 0; l < 32; l++) {
                min = Math.min(min, x[xo + 32 * j + l]);
                max = Math.max(max, x[xo + 32 * j + l]);
            }
            scales[j] = (max - min) / qmax;
            mins[j] = -min;
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float d = maxScale / 63f;
        float dmin = maxMin / 63f;
        int[] ls = new int[8];
        int[] lm = new int[8];
        for (int j = 0; j < 8; j++) {
            ls[j] = d > 0 ? Math.min(63, nearest(scales[j] / d)) : 0;
            lm[j] = dmin > 0 ? Math.min(63, nearest(mins[j] / dmin)) : 0;
        }
        s.set(Codecs.LE_SHORT, at, Codecs.f32ToF16(d));
        s.set(Codecs.LE_SHORT, at + 2, Codecs.f32ToF16(dmin));
        packScales(ls, lm, s, at + KQuants.Q4_K_SCALES);
        float dd = Codecs.f16ToF32(Codecs.f32ToF16(d));
        float dm = Codecs.f16ToF32(Codecs.f32ToF16(dmin));
        int[] q = new int[256];
        for (int j = 0; j < 8; j++) {
            float dl = dd * ls[j];
            float ml = dm * lm[j];
            for (int l = 0; l < 32; l++) {
                q[32 * j + l] = dl == 0 ? 0 : Math.max(0, Math.min(qmax, nearest((x[xo + 32 * j + l] + ml) / dl)));
            }
        }
        long qs = at + (five ? KQuants.Q5_K_QS : KQuants.Q4_K_QS);
        for (int k = 0; k < 4; k++) {
            for (int l = 0; l < 32; l++) {
                int lo = q[64 * k + l];
                int hi = q[64 * k + 32 + l];
                s.set(ValueLayout.JAVA_BYTE, qs + 32L * k + l, (byte) ((lo & 0xF) | ((hi & 0xF) << 4)));
            }
        }
        if (five) {
            for (int l = 0; l < 32; l++) {
                int h = 0;
                for (int sub = 0; sub < 8; sub++) {
                    h |= ((q[32 * sub + l] >> 4) & 1) << sub;
                }
                s.set(ValueLayout.JAVA_BYTE, at + KQuants.Q5_K_QH + l, (byte) h);
            }
        }
    }

    private static void q6_K(float[] x, int xo, MemorySegment s, long at) {
        float[] scales = new float[16];
        float maxScale = 0f;
        for (int j = 0; j < 16; j++) {
            float amax = 0f;
            for (int l = 0; l < 16; l++) {
                amax = Math.max(amax, Math.abs(x[xo + 16 * j + l]));
            }
            scales[j] = amax / 31f;
            maxScale = Math.max(maxScale, scales[j]);
        }
        float d = maxScale / 127f;
        s.set(Codecs.LE_SHORT, at + KQuants.Q6_K_D, Codecs.f32ToF16(d));
        float dd = Codecs.f16ToF32(Codecs.f32ToF16(d));
        int[] q = new int[256];
        for (int j = 0; j < 16; j++) {
            int sc = d > 0 ? Math.min(127, nearest(scales[j] / d)) : 0;
            s.set(ValueLayout.JAVA_BYTE, at + KQuants.Q6_K_SCALES + j, (byte) sc);
            float dl = dd * sc;
            for (int l = 0; l < 16; l++) {
                q[16 * j + l] = (dl == 0 ? 0 : Math.max(-32, Math.min(31, nearest(x[xo + 16 * j + l] / dl)))) + 32;
            }
        }
        packQ6(q, s, at);
    }

    /** Stores 256 6-bit quants (0..63) into a Q6_K block's ql and qh: the inverse of {@link KQuants#q6}. */
    public static void packQ6(int[] q, MemorySegment s, long at) {
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        for (int e = 0; e < 256; e++) {
            int half = e / 128;
            int r = e % 128;
            int l = r % 32;
            int quarter = r / 32;
            int li = 64 * half + l + (quarter & 1) * 32;
            ql[li] |= (byte) (quarter < 2 ? q[e] & 0xF : (q[e] & 0xF) << 4);
            qh[32 * half + l] |= (byte) (((q[e] >> 4) & 3) << (2 * quarter));
        }
        MemorySegment.copy(ql, 0, s, ValueLayout.JAVA_BYTE, at, 128);
        MemorySegment.copy(qh, 0, s, ValueLayout.JAVA_BYTE, at + KQuants.Q6_K_QH, 64);
    }
}
