package dev.edgellm.backend.vector;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Matrix-vector (decode) and matrix-matrix (64-token prompt batch) products of the vector backend
 * at Gemma 3 1B shapes: FFN up/gate (1152 -> 6912), FFN down (6912 -> 1152) and the tied output
 * projection (1152 -> 262144, 170 MB in Q4_0: streamed from DRAM). Weights are random blocks,
 * repacked by the backend as a loaded model's are.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatvecBenchmark {
    /** rows x cols. */
    @Param({"6912x1152", "1152x6912", "262144x1152"})
    public String shape;

    /** Q5_0: the Q4_K_M files' attention q/k and FFN gate/up type ({@code Q5_0Kernels}). */
    @Param({"Q4_0", "Q8_0", "Q5_0"})
    public String type;

    @Param({"1", "2"})
    public int threads;

    /** Tokens per product: 1 = decode ({@code matvec*}), 64 = a prompt batch (IntKernels.gemm*, Q5_0Kernels.gemm2*). */
    @Param({"1", "64"})
    public int n;

    private Backend backend;
    private Weight weight;
    private Activations x;
    private Activations out;

    @Setup(Level.Trial)
    public void setup() {
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]);
        int cols = Integer.parseInt(rc[1]);
        GgmlType t = GgmlType.valueOf(type);
        long bytes = t.byteSize((long) rows * cols);
        MemorySegment seg = Arena.ofAuto().allocate(bytes, 4096);
        SplittableRandom rnd = new SplittableRandom(1);
        // Random quants; block scales as a real model has them: normal fp16 values around 1e-2
        // (random bits would give fp16 subnormals, which the kernels handle exactly but slowly).
        for (long i = 0; i + 8 <= bytes; i += 8) {
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
        }
        for (long b = 0; b < bytes; b += t.bytesPerBlock()) {
            seg.set(dev.edgellm.core.tensor.Codecs.LE_SHORT, b, Float.floatToFloat16((float) (0.002 + 0.02 * rnd.nextDouble())));
        }
        backend = new VectorBackend(threads);
        weight = backend.weight(new GgufTensor("w", t, new long[] {cols, rows}, 0, seg));
        float[] xh = new float[n * cols];
        for (int i = 0; i < xh.length; i++) {
            xh[i] = (float) rnd.nextGaussian();
        }
        x = backend.allocate(xh.length);
        backend.write(xh, 0, x, 0, xh.length);
        out = backend.allocate(n * rows);
    }

    @TearDown(Level.Trial)
    public void close() {
        backend.close();
    }

    @Benchmark
    public Activations matmul() {
        backend.matmul(weight, x, out, n);
        return out;
    }
}
