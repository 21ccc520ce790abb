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
import dev.edgellm.core.util.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The repacked Q4_0/Q5_0/Q8_0 layout and the integer kernels on it, at this JVM's species (Surefire runs
 * the class at 512, 256 and 128 bits): the layout is pinned byte by byte, rows decode to the
 * codec's values, and every product equals the scalar oracle's bits.
 */
class PackedWeightTest {

    @Test
    void layoutInterleavesBytePositionsOfEachRowGroup() {
        int rows = Simd.R + 3;
        int cols = 64;
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(5), GgmlType.Q4_0, rows, cols);
        try (WorkerPool pool = new WorkerPool(2, "test"); PackedWeight w = PackedWeight.of(t, pool, new java.util.concurrent.atomic.AtomicLong())) {
            assertEquals(2, w.groups());
            assertEquals(2, w.blocks());
            assertEquals(Simd.R * 18L, w.blockBytes());
            assertEquals(2L * 2 * Simd.R * 18, w.ownedBytes());
            MemorySegment packed = MemorySegment.ofAddress(w.address()).reinterpret(w.ownedBytes());
            for (int row = 0; row < 2 * Simd.R; row++) {
                int g = row / Simd.R;
                int r = row % Simd.R;
                for (int b = 0; b < 2; b++) {
                    long rec = (g * 2L + b) * w.blockBytes();
                    long src = row * t.rowBytes() + b * 18L;
                    boolean real = row < rows;
                    short d = packed.get(Codecs.LE_SHORT, rec + 2L * r);
                    assertEquals(real ? t.data().get(Codecs.LE_SHORT, src) : 0, d, "scale of row " + row + " block " + b);
                    for (int j = 0; j < 16; j++) {
                        byte q = packed.get(ValueLayout.JAVA_BYTE, rec + 2L * Simd.R + (long) j * Simd.R + r);
                        assertEquals(real ? t.data().get(ValueLayout.JAVA_BYTE, src + 2 + j) : 0, q, "byte " + j + " of row " + row);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void rowsDecodeToTheCodecsValues(GgmlType type) {
        int rows = 2 * Simd.R + 5;
        int cols = 96;
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(9), type, rows, cols);
        try (WorkerPool pool = new WorkerPool(1, "test"); PackedWeight w = PackedWeight.of(t, pool, new java.util.concurrent.atomic.AtomicLong())) {
            float[] want = new float[cols];
            float[] got = new float[cols];
            for (int r = 0; r < rows; r++) {
                Codecs.dequantizeRow(type, t.data(), r * t.rowBytes(), want, 0, cols);
                w.decodeRow(r, got, 0);
                assertArrayEquals(want, got, "row " + r);
            }
            float[] all = w.floats();
            assertEquals(rows * cols, all.length);
            Codecs.dequantizeRow(type, t.data(), (rows - 1) * t.rowBytes(), want, 0, cols);
            assertArrayEquals(want, java.util.Arrays.copyOfRange(all, (rows - 1) * cols, rows * cols));
        }
    }

    static Stream<GgmlType> types() {
        return Stream.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q5_0);
    }

    @Test
    void aNonFiniteScaleIsRefusedWithTheTensorAndBlock() {
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(1), GgmlType.Q4_0, 4, 64);
        // row 2, block 1: an fp16 infinity
        t.data().set(Codecs.LE_SHORT, 2 * t.rowBytes() + 18, (short) 0x7c00);
        try (WorkerPool pool = new WorkerPool(1, "test")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PackedWeight.of(t, pool, new java.util.concurrent.atomic.AtomicLong()));
            assertTrue(e.getMessage().contains("tensor '" + t.name() + "'") && e.getMessage().contains("block 1 of row 2")
                    && e.getMessage().contains("byte " + (2 * t.rowBytes() + 18)), e.getMessage());
        }
    }

    /**
     * Q5_0 records keep the file's 22 bytes per row: the scale, then ten words per row, word
     * {@code w} = {@code q_3w | q_(3w+1) << 5 | q_(3w+2) << 10 | bit (w % 5) of q_(30 + w/5) << 15}
     * (hand-built block).
     */
    @Test
    void q5_0QuantsArePackedIntoTenWords() {
        int rows = 3;
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(3), GgmlType.Q5_0, rows, 32);
        MemorySegment row1 = t.data().asSlice(t.rowBytes(), 22);
        row1.set(Codecs.LE_SHORT, 0, (short) 0x3c00);                 // d = 1
        row1.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 2, 0x8000_0001); // fifth bits of elements 0 and 31
        for (int j = 0; j < 16; j++) {
            row1.set(ValueLayout.JAVA_BYTE, 6 + j, (byte) (j | (15 - j) << 4));
        }
        // q_0 = 16, q_k = k (k < 16), q_(16+j) = 15 - j, q_31 = 16
        int[] q = new int[32];
        for (int j = 0; j < 16; j++) {
            q[j] = j;
            q[16 + j] = 15 - j;
        }
        q[0] = 16;
        q[31] = 16;
        try (WorkerPool pool = new WorkerPool(1, "test"); PackedWeight w = PackedWeight.of(t, pool, new java.util.concurrent.atomic.AtomicLong())) {
            assertEquals(Simd.R * 22L, w.blockBytes());
            assertEquals(Simd.R * 22L, w.ownedBytes());
            MemorySegment packed = MemorySegment.ofAddress(w.address()).reinterpret(w.ownedBytes());
            assertEquals((short) 0x3c00, packed.get(Codecs.LE_SHORT, 2L));
            for (int word = 0; word < 10; word++) {
                int split = (q[30 + word / 5] >>> (word % 5)) & 1;
                int want = q[3 * word] | q[3 * word + 1] << 5 | q[3 * word + 2] << 10 | split << 15;
                assertEquals((short) want, packed.get(Codecs.LE_SHORT, 2L * Simd.R + 2L * (word * Simd.R + 1)), "word " + word);
                // padding rows are zero
                assertEquals((short) 0, packed.get(Codecs.LE_SHORT, 2L * Simd.R + 2L * (word * Simd.R + Simd.R - 1)), "padding word " + word);
            }
            float[] got = new float[32];
            w.decodeRow(1, got, 0);
            for (int k = 0; k < 32; k++) {
                assertEquals(q[k] - 16f, got[k], "element " + k);
            }
        }
    }

    /**
     * Q5_0 products at the ends of the 16-bit sums' range, bit for bit against the oracle: every
     * fifth-bit pattern (none, all, alternating both ways, random) meets nibbles 0, 15 and random,
     * against activation blocks of all +127, all -127, alternating +-127, one outlier and random
     * quants; quants 0 against +127 reach -32,512 in each half-block sum. Decode (n = 1), 2- and
     * 4-token tiles with leftovers, one and two threads.
     */
    @ParameterizedTest(name = "n={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2, 4, 5, 7, 9})
    void q5_0ProductsAtTheEndsOfTheRangeAreTheOraclesBits(int n) {
        int rows = 2 * Simd.R + 3;
        int blocks = 15;
        int cols = 32 * blocks;
        SplittableRandom rnd = new SplittableRandom(77 + n);
        GgufTensor t = TestTensors.randomWeight(rnd, GgmlType.Q5_0, rows, cols);
        int[] qhs = {0, 0xFFFF_FFFF, 0xAAAA_AAAA, 0x5555_5555, 0};
        var qhLayout = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                long at = r * t.rowBytes() + b * 22L;
                int pattern = (r + b) % 15;
                int qh = pattern % 5 == 4 ? rnd.nextInt() : qhs[pattern % 5];
                t.data().set(qhLayout, at + 2, qh);
                for (int j = 0; j < 16; j++) {
                    int nib = pattern / 5 == 0 ? 0x00 : pattern / 5 == 1 ? 0xFF : rnd.nextInt(256);
                    t.data().set(ValueLayout.JAVA_BYTE, at + 6 + j, (byte) nib);
                }
            }
        }
        float[] x = new float[n * cols];
        for (int tok = 0; tok < n; tok++) {
            for (int b = 0; b < blocks; b++) {
                int o = tok * cols + 32 * b;
                int pattern = (tok + b) % 5;
                for (int j = 0; j < 32; j++) {
                    x[o + j] = switch (pattern) {
                        case 0 -> 3f;                                   // all +127
                        case 1 -> -3f;                                  // all -127
                        case 2 -> (j & 1) == 0 ? 3f : -3f;              // alternating
                        case 3 -> j == 7 ? 100f : (float) rnd.nextGaussian();
                        default -> (float) rnd.nextGaussian();
                    };
                }
            }
        }
        float[] want = matmul(new ScalarBackend(1), t, x, n, rows, cols);
        for (int threads : new int[] {1, 2}) {
            float[] got = matmul(new VectorBackend(threads), t, x, n, rows, cols);
            for (int i = 0; i < want.length; i++) {
                if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                    throw new AssertionError(String.format("Q5_0 extremes n=%d, %d threads: token %d row %d: oracle %s, vector %s", n,
                            threads, i / rows, i % rows, want[i], got[i]));
                }
            }
        }
    }

    @Test
    void closingReleasesTheCopy() {
        GgufTensor t = TestTensors.randomWeight(new SplittableRandom(1), GgmlType.Q8_0, 40, 64);
        try (WorkerPool pool = new WorkerPool(1, "test")) {
            java.util.concurrent.atomic.AtomicLong held = new java.util.concurrent.atomic.AtomicLong();
            PackedWeight w = PackedWeight.of(t, pool, held);
            assertTrue(w.ownedBytes() > 0);
            assertEquals(w.ownedBytes(), held.get());
            w.close();
            w.close();
            assertEquals(0, w.ownedBytes());
            assertEquals(0, held.get());
            IllegalStateException e = assertThrows(IllegalStateException.class, w::address);
            assertTrue(e.getMessage().contains("'" + t.name() + "' was released"), e.getMessage());
        }
    }

    /**
     * Every (row, token) product of the integer kernels is the scalar oracle's float, bit for bit:
     * partial row groups, 4-token tiles and leftover tokens, one to three threads (with several
     * threads a batch's tiles are split into parts across pairs of row groups, see
     * {@code VectorBackend.tokenParts}: n=17 on 130 rows makes four parts).
     */
    @ParameterizedTest(name = "{0} {1}x{2} n={3}")
    @MethodSource("oracleCases")
    void productsAreTheOraclesBits(GgmlType type, int rows, int cols, int n) {
        SplittableRandom rnd = new SplittableRandom(31L * rows + 7L * cols + n + type.ordinal());
        GgufTensor t = TestTensors.randomWeight(rnd, type, rows, cols);
        float[] x = TestTensors.gaussian(rnd, n * cols, 3.0);
        // a zero block and a block with one huge value: scales at the ends of their range
        java.util.Arrays.fill(x, 0, 32, 0f);
        if (cols >= 64) {
            x[40] = 3e4f;
        }
        float[] want = matmul(new ScalarBackend(1), t, x, n, rows, cols);
        for (int threads : new int[] {1, 2, 3}) {
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
        for (GgmlType type : List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q5_0)) {
            for (int[] shape : new int[][] {{1, 32}, {7, 64}, {33, 1152}, {130, 256}, {64, 4992}}) {
                for (int n : new int[] {1, 4, 6, 9, 17}) {
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
