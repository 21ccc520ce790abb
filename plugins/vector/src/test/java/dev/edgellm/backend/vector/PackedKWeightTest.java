package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.Weight;
import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.tensor.KQuants;
import dev.edgellm.core.util.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The repacked K-quant layout ({@link PackedKWeight}) and {@link KQuantKernels}, at this JVM's
 * species (Surefire runs the class at 512, 256 and 128 bits): rows decode to the codec's values,
 * hand-built blocks land where the layout says, and every product equals the scalar oracle's bits.
 */
class PackedKWeightTest {

    static Stream<GgmlType> types() {
        return Stream.of(GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void rowsDecodeToTheCodecsValues(GgmlType type) {
        int rows = Simd.R + 5;
        int cols = 512;
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(9), type, rows, cols);
        try (WorkerPool pool = new WorkerPool(2, "test"); PackedKWeight w = PackedKWeight.of(t, pool, new AtomicLong())) {
            assertEquals(2, w.groups());
            assertEquals(2, w.superBlocks());
            float[] want = new float[cols];
            float[] got = new float[cols];
            for (int r = 0; r < rows; r++) {
                Codecs.dequantizeRow(type, t.data(), r * t.rowBytes(), want, 0, cols);
                w.decodeRow(r, got, 0);
                assertArrayEquals(want, got, "row " + r);
            }
        }
    }

    /** A Q4_K block built by hand: the 12-byte scale packing arrives unpacked, d and dmin as floats, nibbles in place. */
    @Test
    void q4_KScalesAreUnpackedPerRow() {
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(4), GgmlType.Q4_K, 2, 256);
        MemorySegment b = t.data().asSlice(t.rowBytes(), KQuants.Q4_K_BYTES);
        b.set(Codecs.LE_SHORT, 0, (short) 0x4000);      // d = 2
        b.set(Codecs.LE_SHORT, 2, (short) 0x3800);      // dmin = 0.5
        // sub-blocks 0-3: scale j+1 / min j+10 in the low 6 bits; sub-blocks 4-7: scale 40+j, min 50+j split over nibbles and top bits
        byte[] s = new byte[12];
        for (int j = 0; j < 4; j++) {
            int sc4 = 40 + j;
            int mn4 = 50 + j;
            s[j] = (byte) ((j + 1) | (sc4 >>> 4) << 6);
            s[j + 4] = (byte) ((j + 10) | (mn4 >>> 4) << 6);
            s[j + 8] = (byte) ((sc4 & 0xF) | (mn4 & 0xF) << 4);
        }
        MemorySegment.copy(s, 0, b, ValueLayout.JAVA_BYTE, KQuants.Q4_K_SCALES, 12);
        b.set(ValueLayout.JAVA_BYTE, KQuants.Q4_K_QS + 5, (byte) 0x7A);
        try (WorkerPool pool = new WorkerPool(1, "test"); PackedKWeight w = PackedKWeight.of(t, pool, new AtomicLong())) {
            MemorySegment p = MemorySegment.ofAddress(w.address()).reinterpret(w.ownedBytes());
            int r = 1;
            ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
            assertEquals(2f, p.get(f, 4L * r));
            assertEquals(0.5f, p.get(f, 4L * Simd.R + 4L * r));
            for (int j = 0; j < 8; j++) {
                assertEquals(j < 4 ? j + 1 : 40 + j - 4, p.get(ValueLayout.JAVA_BYTE, (8L + j) * Simd.R + r), "scale " + j);
                assertEquals(j < 4 ? j + 10 : 50 + j - 4, p.get(ValueLayout.JAVA_BYTE, (16L + j) * Simd.R + r), "min " + j);
            }
            assertEquals((byte) 0x7A, p.get(ValueLayout.JAVA_BYTE, (24L + 5) * Simd.R + r));
            float[] got = new float[256];
            w.decodeRow(1, got, 0);
            assertEquals(2f * 1 * 0xA - 0.5f * 10, got[5]);          // sub-block 0, low nibble
            assertEquals(2f * 2 * 0x7 - 0.5f * 11, got[32 + 5]);     // sub-block 1, high nibble
        }
    }

    /** Q6_K: the two bit planes join into one signed byte per element, {@code q - 32}. */
    @Test
    void q6_KQuantsAreJoined() {
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(6), GgmlType.Q6_K, 1, 256);
        try (WorkerPool pool = new WorkerPool(1, "test"); PackedKWeight w = PackedKWeight.of(t, pool, new AtomicLong())) {
            MemorySegment p = MemorySegment.ofAddress(w.address()).reinterpret(w.ownedBytes());
            for (int e = 0; e < 256; e++) {
                assertEquals(KQuants.q6(t.data(), 0, e) - 32, p.get(ValueLayout.JAVA_BYTE, (20L + e) * Simd.R), "element " + e);
            }
            for (int s = 0; s < 16; s++) {
                assertEquals(t.data().get(ValueLayout.JAVA_BYTE, KQuants.Q6_K_SCALES + s), p.get(ValueLayout.JAVA_BYTE, (4L + s) * Simd.R));
            }
        }
    }

    @Test
    void aRowThatIsNotWholeSuperBlocksIsRefused() {
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(1), GgmlType.Q8_0, 2, 64);
        GgufTensor bad = new GgufTensor("blk.3.ffn_down.weight", GgmlType.Q4_K, new long[] {128, 1}, 0, t.data().asSlice(0, 72));
        try (WorkerPool pool = new WorkerPool(1, "test")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PackedKWeight.of(bad, pool, new AtomicLong()));
            assertTrue(e.getMessage().contains("blk.3.ffn_down.weight") && e.getMessage().contains("256"), e.getMessage());
        }
    }

    @Test
    void closingReleasesTheCopy() {
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(1), GgmlType.Q6_K, 40, 256);
        try (WorkerPool pool = new WorkerPool(1, "test")) {
            AtomicLong held = new AtomicLong();
            PackedKWeight w = PackedKWeight.of(t, pool, held);
            assertEquals((long) PackedWeight.groups(40) * Simd.R * 276, w.ownedBytes());
            assertEquals(w.ownedBytes(), held.get());
            w.close();
            w.close();
            assertEquals(0, held.get());
            assertThrows(IllegalStateException.class, w::address);
        }
    }

    /** Every (row, token) product is the scalar oracle's float, bit for bit: partial groups, batches, one and two threads. */
    @ParameterizedTest(name = "{0} {1}x{2} n={3}")
    @MethodSource("oracleCases")
    void productsAreTheOraclesBits(GgmlType type, int rows, int cols, int n) {
        SplittableRandom rnd = new SplittableRandom(31L * rows + 7L * cols + n + type.ordinal());
        GgufTensor t = TestTensors.randomWeight(rnd, type, rows, cols);
        float[] x = TestTensors.gaussian(rnd, n * cols, 3.0);
        // an all-zero super-block and one huge value: Q8_K scales at the ends of their range
        java.util.Arrays.fill(x, 0, 256, 0f);
        if (cols >= 512) {
            x[300] = -3e4f;
        }
        float[] want = matmul(new ScalarBackend(1), t, x, n, rows, cols);
        for (int threads : new int[] {1, 2}) {
            float[] got = matmul(new VectorBackend(threads), t, x, n, rows, cols);
            for (int i = 0; i < want.length; i++) {
                if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                    throw new AssertionError(String.format("%s %dx%d n=%d, %d threads: token %d row %d: oracle %s, vector %s", type, rows,
                            cols, n, threads, i / rows, i % rows, want[i], got[i]));
                }
            }
        }
    }

    static Stream<Arguments> oracleCases() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType type : List.of(GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
            for (int[] shape : new int[][] {{1, 256}, {7, 512}, {33, 1024}, {130, 256}, {40, 6912}}) {
                for (int n : new int[] {1, 4, 6}) {
                    cases.add(Arguments.of(type, shape[0], shape[1], n));
                }
            }
        }
        return cases.stream();
    }

    private static float[] matmul(Backend b, GgufTensor t, float[] x, int n, int rows, int cols) {
        try (b; Weight w = b.weight(t); Activations xa = b.allocate(n * cols); Activations oa = b.allocate(n * rows)) {
            b.write(x, 0, xa, 0, n * cols);
            b.matmul(w, xa, oa, n);
            float[] out = new float[n * rows];
            b.read(oa, 0, out, 0, out.length);
            return out;
        }
    }
}
