package dev.edgellm.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgellm.core.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Hand-built Q4_1, Q5_0 and Q5_1 blocks (ggml-common.h layouts) and the Q8_1 activation quantizer. */
class LegacyQuantsTest {

    /** Nibble bytes as in the Q4_0 test: byte j = j | (15 - j) << 4: element j is j, element j + 16 is 15 - j. */
    private static void nibbles(byte[] b, int at) {
        for (int j = 0; j < 16; j++) {
            b[at + j] = (byte) (j | ((15 - j) << 4));
        }
    }

    private static int nibble(int e) {
        return e < 16 ? e : 15 - (e - 16);
    }

    @Test
    void q4_1IsScaleTimesQuantPlusMin() {
        byte[] b = new byte[20];
        b[1] = 0x38;              // d 0.5
        b[3] = (byte) 0xBC;       // m -1
        nibbles(b, 4);
        float[] out = new float[32];
        Codecs.dequantizeRow(GgmlType.Q4_1, MemorySegment.ofArray(b), 0, out, 0, 32);
        assertEquals(-1f, out[0]);
        assertEquals(6.5f, out[15]);
        assertEquals(6.5f, out[16]);
        assertEquals(-1f, out[31]);
        for (int e = 0; e < 32; e++) {
            assertEquals(nibble(e) * 0.5f - 1f, out[e], "element " + e);
        }
    }

    @Test
    void q5_0FifthBitsComeFromALittleEndianWord() {
        byte[] b = new byte[22];
        b[1] = 0x34;              // d 0.25
        // qh = 0xA5A50F0F little-endian: elements 0-3 and 8-11 set, 16, 18, 21, 23, 24, 26, 29, 31 set
        b[2] = 0x0F;
        b[3] = 0x0F;
        b[4] = (byte) 0xA5;
        b[5] = (byte) 0xA5;
        nibbles(b, 6);
        float[] out = new float[32];
        Codecs.dequantizeRow(GgmlType.Q5_0, MemorySegment.ofArray(b), 0, out, 0, 32);
        assertEquals((0 + 16 - 16) * 0.25f, out[0]);
        assertEquals((4 - 16) * 0.25f, out[4]);
        assertEquals((15 + 16 - 16) * 0.25f, out[16]);
        assertEquals((14 - 16) * 0.25f, out[17]);
        int qh = 0xA5A50F0F;
        for (int e = 0; e < 32; e++) {
            assertEquals((nibble(e) + ((qh >>> e) & 1) * 16 - 16) * 0.25f, out[e], "element " + e);
        }
        assertEquals(out[21], Codecs.element(GgmlType.Q5_0, MemorySegment.ofArray(b), 0, 21));
    }

    @Test
    void q5_1AddsTheMin() {
        byte[] b = new byte[24];
        b[1] = 0x38;              // d 0.5
        b[3] = 0x3C;              // m 1
        b[4] = 0x78;              // qh = 0x12345678
        b[5] = 0x56;
        b[6] = 0x34;
        b[7] = 0x12;
        nibbles(b, 8);
        float[] out = new float[32];
        Codecs.dequantizeRow(GgmlType.Q5_1, MemorySegment.ofArray(b), 0, out, 0, 32);
        int qh = 0x12345678;
        assertEquals((3 + 16) * 0.5f + 1f, out[3]);   // bit 3 of 0x...78 set
        for (int e = 0; e < 32; e++) {
            assertEquals((nibble(e) + ((qh >>> e) & 1) * 16) * 0.5f + 1f, out[e], "element " + e);
        }
    }

    @Test
    void quantizeQ8_1KeepsScaleAndScaledSumAsFp16() {
        float[] x = new float[64];
        x[0] = 127f;              // block 0: amax 127, d 1
        x[1] = 0.5f;
        x[2] = 1.5f;
        x[3] = -2.5f;
        x[4] = 3.25f;
        for (int j = 32; j < 64; j++) {
            x[j] = j / 1000f;     // block 1: amax 0.063
        }
        float[] d = new float[3];
        float[] s = new float[3];
        byte[] q = new byte[64];
        LegacyQuants.quantizeQ8_1(x, 0, 64, d, s, 1, q, 0);
        assertEquals(1f, d[1]);
        assertEquals(127, q[0]);
        assertEquals(0, q[1]);
        assertEquals(2, q[2]);
        assertEquals(-2, q[3]);
        assertEquals(3, q[4]);
        assertEquals(127 + 2 - 2 + 3, s[1]);
        float d1 = 0.063f / 127f;
        assertEquals(Codecs.f16ToF32(Codecs.f32ToF16(d1)), d[2]);
        int sum = 0;
        for (int j = 32; j < 64; j++) {
            int want = (int) Math.rint(x[j] * (127f / 0.063f));
            assertEquals(want, q[j], "quant " + j);
            sum += want;
        }
        assertEquals(127, q[63]);
        assertEquals(Codecs.f16ToF32(Codecs.f32ToF16(d1 * sum)), s[2]);
    }
}
