package dev.edgellm.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Hand-computed blocks for every codec (ggml-quants.c / ggml-impl.h definitions). */
class CodecsTest {

    private static final int QK = 32;

    // ---------------------------------------------------------------- Q4_0

    /** d = 0.5 (fp16 0x3800, little-endian 00 38); byte j = lo | hi << 4 with lo = j, hi = 15 - j. */
    private static final byte[] Q4_0_BLOCK = bytes(
            0x00, 0x38,
            0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F);

    /** Element j (j < 16) = (j - 8) * 0.5 from the low nibble; element j + 16 = (15 - j - 8) * 0.5 from the high nibble. */
    private static final float[] Q4_0_VALUES = {
        -4f, -3.5f, -3f, -2.5f, -2f, -1.5f, -1f, -0.5f, 0f, 0.5f, 1f, 1.5f, 2f, 2.5f, 3f, 3.5f,
        3.5f, 3f, 2.5f, 2f, 1.5f, 1f, 0.5f, 0f, -0.5f, -1f, -1.5f, -2f, -2.5f, -3f, -3.5f, -4f,
    };

    @Test
    void q4_0HandBuiltBlockViaDequantizeRow() {
        assertEquals(18, Q4_0_BLOCK.length);
        float[] out = new float[QK];
        Codecs.dequantizeRow(GgmlType.Q4_0, MemorySegment.ofArray(Q4_0_BLOCK), 0, out, 0, QK);
        assertArrayEquals(Q4_0_VALUES, out);
    }

    @Test
    void q4_0HandBuiltBlockViaElement() {
        MemorySegment s = MemorySegment.ofArray(Q4_0_BLOCK);
        for (int i = 0; i < QK; i++) {
            assertEquals(Q4_0_VALUES[i], Codecs.element(GgmlType.Q4_0, s, 0, i), "element " + i);
        }
    }

    @Test
    void q4_0SecondBlockAtUnalignedBaseAndOutputOffset() {
        // 3 junk bytes, block 1 (above), block 2: d = -0.25 (0xB400), every byte 0x8F: low 15 -> 7 * -0.25, high 8 -> 0.
        byte[] second = new byte[18];
        second[0] = 0x00;
        second[1] = (byte) 0xB4;
        for (int j = 2; j < 18; j++) {
            second[j] = (byte) 0x8F;
        }
        byte[] row = concat(new byte[] {9, 9, 9}, Q4_0_BLOCK, second);
        float[] out = new float[2 + 2 * QK];
        Codecs.dequantizeRow(GgmlType.Q4_0, MemorySegment.ofArray(row), 3, out, 2, 2 * QK);
        assertEquals(0f, out[0]);
        assertEquals(0f, out[1]);
        for (int i = 0; i < QK; i++) {
            assertEquals(Q4_0_VALUES[i], out[2 + i], "block 0 element " + i);
            float expected2 = i < 16 ? -1.75f : -0f;
            assertEquals(expected2, out[2 + QK + i], "block 1 element " + i);
            assertEquals(expected2, Codecs.element(GgmlType.Q4_0, MemorySegment.ofArray(row), 3, QK + i));
        }
    }

    // ---------------------------------------------------------------- Q8_0

    @Test
    void q8_0HandBuiltBlock() {
        // d = 0.25 (fp16 0x3400); quants: -128, -1, 127, then j - 16 for j = 3..31.
        byte[] block = new byte[34];
        block[0] = 0x00;
        block[1] = 0x34;
        block[2] = (byte) -128;
        block[3] = (byte) 0xFF;
        block[4] = 127;
        for (int j = 3; j < QK; j++) {
            block[2 + j] = (byte) (j - 16);
        }
        float[] expected = new float[QK];
        expected[0] = -32f;
        expected[1] = -0.25f;
        expected[2] = 31.75f;
        for (int j = 3; j < QK; j++) {
            expected[j] = (j - 16) / 4f;
        }
        MemorySegment s = MemorySegment.ofArray(block);
        float[] out = new float[QK];
        Codecs.dequantizeRow(GgmlType.Q8_0, s, 0, out, 0, QK);
        assertArrayEquals(expected, out);
        for (int j = 0; j < QK; j++) {
            assertEquals(expected[j], Codecs.element(GgmlType.Q8_0, s, 0, j), "element " + j);
        }
    }

    @Test
    void q8_0SecondBlockUsesItsOwnScale() {
        byte[] row = new byte[68];
        row[1] = 0x3C; // block 0: d = 1.0, all quants 0
        row[34] = 0x00;
        row[35] = (byte) 0xC0; // block 1: d = -2.0
        for (int j = 0; j < QK; j++) {
            row[36 + j] = (byte) (j - 16);
        }
        float[] out = new float[64];
        Codecs.dequantizeRow(GgmlType.Q8_0, MemorySegment.ofArray(row), 0, out, 0, 64);
        for (int j = 0; j < QK; j++) {
            assertEquals(0f, out[j]);
            assertEquals(-2f * (j - 16), out[QK + j]);
            assertEquals(-2f * (j - 16), Codecs.element(GgmlType.Q8_0, MemorySegment.ofArray(row), 0, QK + j));
        }
    }

    // ---------------------------------------------------------------- F16

    @Test
    void f16Values() {
        assertEquals(1.0f, Codecs.f16ToF32((short) 0x3C00));
        assertEquals(-2.0f, Codecs.f16ToF32((short) 0xC000));
        assertEquals(65504f, Codecs.f16ToF32((short) 0x7BFF));
        assertEquals(0x1p-24f, Codecs.f16ToF32((short) 0x0001)); // smallest subnormal
        assertEquals(0x1p-14f, Codecs.f16ToF32((short) 0x0400)); // smallest normal
        assertEquals(0x3FFp-24f, Codecs.f16ToF32((short) 0x03FF)); // largest subnormal
        assertEquals(Float.POSITIVE_INFINITY, Codecs.f16ToF32((short) 0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, Codecs.f16ToF32((short) 0xFC00));
        assertTrue(Float.isNaN(Codecs.f16ToF32((short) 0x7E00)));
        assertTrue(Float.isNaN(Codecs.f16ToF32((short) 0x7C01)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Codecs.f16ToF32((short) 0x8000)));
    }

    @Test
    void f32ToF16RoundsToNearestEven() {
        assertEquals((short) 0x3C00, Codecs.f32ToF16(1.0f));
        assertEquals((short) 0x7BFF, Codecs.f32ToF16(65504f));
        assertEquals((short) 0x7BFF, Codecs.f32ToF16(65519f));
        assertEquals((short) 0x7C00, Codecs.f32ToF16(65520f)); // halfway to 2^16 rounds to inf
        assertEquals((short) 0x3C00, Codecs.f32ToF16(1f + 0x1p-11f)); // tie, even stays
        assertEquals((short) 0x3C02, Codecs.f32ToF16(1f + 0x3p-11f)); // tie, odd rounds up
        assertEquals((short) 0x0001, Codecs.f32ToF16(0x1p-24f));
        assertEquals((short) 0x0000, Codecs.f32ToF16(0x1p-25f)); // tie to even zero
        assertTrue(Float.isNaN(Codecs.f16ToF32(Codecs.f32ToF16(Float.NaN))));
    }

    @Test
    void f16RowAndElement() {
        byte[] row = bytes(0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x7C, 0x00, 0x7E);
        float[] out = new float[6];
        MemorySegment s = MemorySegment.ofArray(row);
        Codecs.dequantizeRow(GgmlType.F16, s, 0, out, 0, 6);
        assertEquals(1f, out[0]);
        assertEquals(-2f, out[1]);
        assertEquals(65504f, out[2]);
        assertEquals(0x1p-24f, out[3]);
        assertEquals(Float.POSITIVE_INFINITY, out[4]);
        assertTrue(Float.isNaN(out[5]));
        for (int i = 0; i < 6; i++) {
            assertEquals(Float.floatToIntBits(out[i]), Float.floatToIntBits(Codecs.element(GgmlType.F16, s, 0, i)));
        }
    }

    // ---------------------------------------------------------------- BF16

    @Test
    void bf16Values() {
        assertEquals(1.0f, Codecs.bf16ToF32((short) 0x3F80));
        assertEquals(-3.0f, Codecs.bf16ToF32((short) 0xC040));
        assertEquals(Float.POSITIVE_INFINITY, Codecs.bf16ToF32((short) 0x7F80));
        assertEquals(0x1p-133f, Codecs.bf16ToF32((short) 0x0001));
        assertTrue(Float.isNaN(Codecs.bf16ToF32((short) 0x7FC0)));
        byte[] row = bytes(0x80, 0x3F, 0x40, 0xC0);
        float[] out = new float[2];
        Codecs.dequantizeRow(GgmlType.BF16, MemorySegment.ofArray(row), 0, out, 0, 2);
        assertArrayEquals(new float[] {1f, -3f}, out);
        assertEquals(-3f, Codecs.element(GgmlType.BF16, MemorySegment.ofArray(row), 0, 1));
    }

    @Test
    void f32ToBf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, Codecs.f32ToBf16(1.0f));
        assertEquals((short) 0xC040, Codecs.f32ToBf16(-3.0f));
        // 1 + 2^-8 = 0x3F808000 sits exactly between 0x3F80 and 0x3F81: ties to the even 0x3F80.
        assertEquals(0x3F808000, Float.floatToRawIntBits(1.00390625f));
        assertEquals((short) 0x3F80, Codecs.f32ToBf16(1.00390625f));
        // The literal 1.0039063f is the same float (0x3F808000), so it ties to even as well.
        assertEquals((short) 0x3F80, Codecs.f32ToBf16(1.0039063f));
        // One ulp above the tie rounds up.
        assertEquals((short) 0x3F81, Codecs.f32ToBf16(Math.nextUp(1.00390625f)));
        // 1 + 3 * 2^-8 = 0x3F818000 is a tie next to the odd 0x3F81: rounds up to 0x3F82.
        assertEquals((short) 0x3F82, Codecs.f32ToBf16(1.01171875f));
        assertEquals((short) 0xBF80, Codecs.f32ToBf16(-1.00390625f));
        assertEquals((short) 0x7F80, Codecs.f32ToBf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0x7F80, Codecs.f32ToBf16(Float.MAX_VALUE)); // rounds up to inf like ggml
        // NaN stays NaN (quiet), also for a signalling NaN whose payload is in the dropped bits.
        assertEquals((short) 0x7FC0, Codecs.f32ToBf16(Float.NaN));
        short snan = Codecs.f32ToBf16(Float.intBitsToFloat(0x7F800001));
        assertTrue(Float.isNaN(Codecs.bf16ToF32(snan)), Integer.toHexString(snan & 0xFFFF));
        assertTrue(Float.isNaN(Codecs.bf16ToF32(Codecs.f32ToBf16(Float.intBitsToFloat(0xFFC00001)))));
    }

    // ---------------------------------------------------------------- quantizeQ8_0

    @Test
    void quantizeQ8_0ExactWhenMaxIs127d() {
        // d = 0.5 exactly (fp16 representable); x = q * d with max |q| = 127.
        int[] q = new int[QK];
        for (int j = 0; j < QK; j++) {
            q[j] = (j * 37) % 255 - 127;
        }
        q[5] = 127;
        q[6] = -127;
        float[] x = new float[QK];
        for (int j = 0; j < QK; j++) {
            x[j] = q[j] * 0.5f;
        }
        float[] scales = new float[1];
        byte[] quants = new byte[QK];
        Codecs.quantizeQ8_0(x, 0, QK, scales, 0, quants, 0);
        assertEquals(0.5f, scales[0]);
        for (int j = 0; j < QK; j++) {
            assertEquals(q[j], quants[j], "quant " + j);
        }
    }

    @Test
    void quantizeQ8_0NegativeMax() {
        float[] x = new float[QK];
        x[0] = -127f;
        x[1] = 1f;
        x[2] = 126f;
        float[] scales = new float[1];
        byte[] quants = new byte[QK];
        Codecs.quantizeQ8_0(x, 0, QK, scales, 0, quants, 0);
        assertEquals(1f, scales[0]);
        assertEquals(-127, quants[0]);
        assertEquals(1, quants[1]);
        assertEquals(126, quants[2]);
    }

    @Test
    void quantizeQ8_0ZeroBlockAndOffsets() {
        // Two blocks read from x[3..], written to scales[1..] and quants[5..]: a zero block, then d = 1.
        float[] x = new float[3 + 2 * QK];
        x[3 + QK] = 127f;
        x[3 + QK + 1] = -5f;
        float[] scales = {7f, 7f, 7f, 7f};
        byte[] quants = new byte[5 + 2 * QK + 1];
        java.util.Arrays.fill(quants, (byte) 99);
        Codecs.quantizeQ8_0(x, 3, 2 * QK, scales, 1, quants, 5);
        assertEquals(7f, scales[0]);
        assertEquals(0f, scales[1]);
        assertEquals(1f, scales[2]);
        assertEquals(7f, scales[3]);
        for (int j = 0; j < 5; j++) {
            assertEquals(99, quants[j]);
        }
        for (int j = 0; j < QK; j++) {
            assertEquals(0, quants[5 + j], "zero block quant " + j);
        }
        assertEquals(127, quants[5 + QK]);
        assertEquals(-5, quants[5 + QK + 1]);
        assertEquals(0, quants[5 + QK + 2]);
        assertEquals(99, quants[5 + 2 * QK]);
    }

    @Test
    void quantizeQ8_0TiesRoundHalfToEven() {
        // amax = 127 -> d = 1 and 1/d = 1 exactly, so x * id is exactly the half-way value.
        float[] x = new float[QK];
        float[] ties = {127f, 0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, -3.5f, 126.5f, -125.5f};
        int[] expected = {127, 0, 2, 2, 4, 0, -2, -2, -4, 126, -126};
        System.arraycopy(ties, 0, x, 0, ties.length);
        float[] scales = new float[1];
        byte[] quants = new byte[QK];
        Codecs.quantizeQ8_0(x, 0, QK, scales, 0, quants, 0);
        assertEquals(1f, scales[0]);
        for (int j = 0; j < ties.length; j++) {
            assertEquals(expected[j], quants[j], "x = " + ties[j]);
        }
    }

    @Test
    void quantizeQ8_0ScaleIsTheFp16RoundedValue() {
        // amax = 1: d = 1/127 = 0.007874016 in f32; the nearest fp16 is 2^-7 * (1 + 8/1024) = 0.00787353515625.
        float[] x = new float[QK];
        x[0] = 1f;
        x[1] = -1f;
        x[2] = 0.25f; // 0.25 * 127 = 31.75 -> 32
        float[] scales = new float[1];
        byte[] quants = new byte[QK];
        Codecs.quantizeQ8_0(x, 0, QK, scales, 0, quants, 0);
        assertEquals(0.00787353515625f, scales[0]);
        assertTrue(scales[0] != 1f / 127f);
        assertEquals(Codecs.f16ToF32(Codecs.f32ToF16(1f / 127f)), scales[0]);
        assertEquals(127, quants[0]);
        assertEquals(-127, quants[1]);
        assertEquals(32, quants[2]);
    }

    @Test
    void unsupportedTypesAreRefusedByName() {
        MemorySegment s = MemorySegment.ofArray(new byte[256]);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Codecs.dequantizeRow(GgmlType.Q2_K, s, 0, new float[256], 0, 256));
        assertTrue(e.getMessage().contains("Q2_K"), e.getMessage());
        e = assertThrows(UnsupportedOperationException.class, () -> Codecs.element(GgmlType.IQ4_XS, s, 0, 0));
        assertTrue(e.getMessage().contains("IQ4_XS"), e.getMessage());
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
