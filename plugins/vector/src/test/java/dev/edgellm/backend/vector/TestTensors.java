package dev.edgellm.backend.vector;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Synthetic weight tensors for backend tests: random floats encoded into ggml block bytes (the
 * ggml reference quantizers) in an off-heap segment, wrapped as a {@link GgufTensor} just like a
 * slice of a mapped file.
 */
final class TestTensors {
    private TestTensors() {}

    /** {@code n} floats, normally distributed with standard deviation {@code sigma}. */
    static float[] gaussian(SplittableRandom rnd, int n, double sigma) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * sigma);
        }
        return v;
    }

    /** A {@code rows x cols} weight ({@code dims = [cols, rows]}) holding {@code values} encoded as {@code type}. */
    static GgufTensor weight(String name, GgmlType type, int rows, int cols, float[] values) {
        long bytes = type.byteSize((long) rows * cols);
        MemorySegment seg = Arena.ofAuto().allocate(bytes, 64);
        long rowBytes = type.byteSize(cols);
        for (int r = 0; r < rows; r++) {
            encodeRow(type, values, r * cols, cols, seg, r * rowBytes);
        }
        return new GgufTensor(name, type, new long[] {cols, rows}, 0, seg);
    }

    /** Random weights of a type: gaussian floats, encoded. */
    static GgufTensor randomWeight(SplittableRandom rnd, GgmlType type, int rows, int cols) {
        return weight("w." + type + "." + rows + "x" + cols, type, rows, cols, gaussian(rnd, rows * cols, 0.5));
    }

    static void encodeRow(GgmlType type, float[] v, int off, int n, MemorySegment seg, long base) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(Codecs.LE_FLOAT, base + 4L * i, v[off + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(Codecs.LE_SHORT, base + 2L * i, Codecs.f32ToF16(v[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(Codecs.LE_SHORT, base + 2L * i, Codecs.f32ToBf16(v[off + i]));
                }
            }
            case Q8_0 -> {
                // quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d)
                for (int b = 0; b < n / 32; b++) {
                    long o = base + (long) b * Codecs.Q8_0_BYTES;
                    float amax = 0f;
                    for (int j = 0; j < 32; j++) {
                        amax = Math.max(amax, Math.abs(v[off + b * 32 + j]));
                    }
                    float d = amax / 127f;
                    float id = d != 0f ? 1f / d : 0f;
                    seg.set(Codecs.LE_SHORT, o, Codecs.f32ToF16(d));
                    for (int j = 0; j < 32; j++) {
                        seg.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) Math.round(v[off + b * 32 + j] * id));
                    }
                }
            }
            case Q4_0 -> {
                // quantize_row_q4_0_ref: d = max / -8 (max = the value of largest magnitude), q = min(15, (int)(x/d + 8.5))
                for (int b = 0; b < n / 32; b++) {
                    long o = base + (long) b * Codecs.Q4_0_BYTES;
                    float amax = 0f;
                    float max = 0f;
                    for (int j = 0; j < 32; j++) {
                        float x = v[off + b * 32 + j];
                        if (Math.abs(x) > amax) {
                            amax = Math.abs(x);
                            max = x;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0f ? 1f / d : 0f;
                    seg.set(Codecs.LE_SHORT, o, Codecs.f32ToF16(d));
                    for (int j = 0; j < 16; j++) {
                        int q0 = Math.min(15, (int) (v[off + b * 32 + j] * id + 8.5f));
                        int q1 = Math.min(15, (int) (v[off + b * 32 + j + 16] * id + 8.5f));
                        seg.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) (q0 | (q1 << 4)));
                    }
                }
            }
            default -> dev.edgellm.core.testing.BlockEncoders.encodeRow(type, v, off, n, seg, base);
        }
    }
}
