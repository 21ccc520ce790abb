package dev.edgellm.backend.vector.bench;

import dev.edgellm.backend.vector.VectorBackend;
import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Quick matmul timing without JMH: KernelBench TYPE ROWS COLS N THREADS [SECONDS]. */
public final class KernelBench {
    public static void main(String[] a) {
        GgmlType type = GgmlType.valueOf(a[0]);
        int rows = Integer.parseInt(a[1]);
        int cols = Integer.parseInt(a[2]);
        int n = Integer.parseInt(a[3]);
        int threads = Integer.parseInt(a[4]);
        double seconds = a.length > 5 ? Double.parseDouble(a[5]) : 3;
        long bytes = type.byteSize((long) rows * cols);
        MemorySegment seg = Arena.ofAuto().allocate(bytes, 64);
        SplittableRandom rnd = new SplittableRandom(1);
        for (long i = 0; i + 8 <= bytes; i += 8) {
            seg.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong() & 0x0fff0fff0fff0fffL);
        }
        if (type == GgmlType.Q4_0 || type == GgmlType.Q8_0) {
            // block scales as a real model has them: normal fp16 values around 1e-2 (random bits
            // would give fp16 subnormals, which the kernels handle exactly but slowly)
            for (long b = 0; b < bytes; b += type.bytesPerBlock()) {
                seg.set(dev.edgellm.core.tensor.Codecs.LE_SHORT, b, Float.floatToFloat16((float) (0.002 + 0.02 * rnd.nextDouble())));
            }
        }
        GgufTensor t = new GgufTensor("w", type, new long[] {cols, rows}, 0, seg);
        try (Backend b = new VectorBackend(threads)) {
            Weight w = b.weight(t);
            Activations x = b.allocate(n * cols);
            float[] xh = new float[n * cols];
            for (int i = 0; i < xh.length; i++) {
                xh[i] = (float) rnd.nextGaussian();
            }
            b.write(xh, 0, x, 0, xh.length);
            Activations out = b.allocate(n * rows);
            // Best of many short repetitions: other processes on a shared machine only ever slow a repetition down.
            double best = Double.MAX_VALUE;
            for (int rep = 0; rep < 25; rep++) {
                long t0 = System.nanoTime();
                long calls = 0;
                while (System.nanoTime() - t0 < seconds * 1e9 / 25) {
                    b.matmul(w, x, out, n);
                    calls++;
                }
                best = Math.min(best, (System.nanoTime() - t0) / 1e9 / calls);
            }
            double s = best;
            System.out.printf("%s %dx%d n=%d threads %d: %.3f ms/call, %.1f GB/s weights, %.1f GMAC/s%n", type, rows, cols, n, threads,
                    s * 1e3, bytes / s / 1e9, (double) rows * cols * n / s / 1e9);
        }
    }
}
