package dev.edgellm.core.testing;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Builds in-memory weight tensors in ggml block formats, for backend and kernel tests. */
public final class TensorFactory {
    private TensorFactory() {}

    /** Random values in [-scale, scale]. */
    public static float[] random(SplittableRandom r, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    /** A {@code [cols, rows]} tensor of {@code type} holding {@code values} (row-major, quantized as ggml does). */
    public static GgufTensor tensor(String name, GgmlType type, int rows, int cols, float[] values) {
        if (values.length != rows * cols) {
            throw new IllegalArgumentException("need " + rows * cols + " values");
        }
        long rowBytes = type.byteSize(cols);
        MemorySegment seg = Arena.ofAuto().allocate(rowBytes * rows, 32);
        for (int r = 0; r < rows; r++) {
            encodeRow(type, values, r * cols, cols, seg, r * rowBytes);
        }
        return new GgufTensor(name, type, rows == 1 ? new long[] {cols} : new long[] {cols, rows}, 0, seg.asReadOnly());
    }

    /** Decodes a tensor back to floats (what the kernels actually multiply with). */
    public static float[] decode(GgufTensor t) {
        float[] out = new float[t.rows() * t.cols()];
        for (int r = 0; r < t.rows(); r++) {
            Codecs.dequantizeRow(t.type(), t.data(), r * t.rowBytes(), out, r * t.cols(), t.cols());
        }
        return out;
    }

    private static void encodeRow(GgmlType type, float[] x, int off, int n, MemorySegment s, long base) {
        switch (type) {
            case F32 -> MemorySegment.copy(x, off, s, Codecs.LE_FLOAT, base, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    s.set(Codecs.LE_SHORT, base + 2L * i, Codecs.f32ToF16(x[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    s.set(Codecs.LE_SHORT, base + 2L * i, Codecs.f32ToBf16(x[off + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) {
                        amax = Math.max(amax, Math.abs(x[off + b * 32 + j]));
                    }
                    float d = amax / 127f;
                    float id = d != 0 ? 1f / d : 0f;
                    long bb = base + b * 34L;
                    s.set(Codecs.LE_SHORT, bb, Codecs.f32ToF16(d));
                    for (int j = 0; j < 32; j++) {
                        s.set(ValueLayout.JAVA_BYTE, bb + 2 + j, (byte) Math.round(x[off + b * 32 + j] * id));
                    }
                }
            }
            case Q4_0 -> {
                // quantize_row_q4_0_ref: the signed value of largest magnitude maps to -8
                for (int b = 0; b < n / 32; b++) {
                    float amax = 0;
                    float max = 0;
                    for (int j = 0; j < 32; j++) {
                        float v = x[off + b * 32 + j];
                        if (amax < Math.abs(v)) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0 ? 1f / d : 0f;
                    long bb = base + b * 18L;
                    s.set(Codecs.LE_SHORT, bb, Codecs.f32ToF16(d));
                    for (int j = 0; j < 16; j++) {
                        int q0 = Math.min(15, (byte) (x[off + b * 32 + j] * id + 8.5f));
                        int q1 = Math.min(15, (byte) (x[off + b * 32 + j + 16] * id + 8.5f));
                        s.set(ValueLayout.JAVA_BYTE, bb + 2 + j, (byte) (q0 | (q1 << 4)));
                    }
                }
            }
            default -> BlockEncoders.encodeRow(type, x, off, n, s, base);
        }
    }
}
