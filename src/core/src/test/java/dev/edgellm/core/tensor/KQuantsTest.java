package dev.edgellm.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.testing.BlockEncoders;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Hand-built Q4_K, Q5_K and Q6_K super-blocks (ggml-common.h layouts) and the Q8_K activation quantizer. */
class KQuantsTest {

    /** Sub-block scales and mins, with values past 15 in sub-blocks 4-7 so their top two bits matter. */
    private static final int[] LS = {1, 2, 3, 4, 17, 33, 63, 48};
    private static final int[] LM = {5, 6, 7, 8, 20, 40, 0, 63};

    /**
     * {@link #LS}/{@link #LM} packed by hand as get_scale_min_k4 reads them: bytes 0-3 scales 0-3
     * (top bits: the high 2 bits of scales 4-7), bytes 4-7 mins 0-3 (top bits: high 2 bits of mins
     * 4-7), bytes 8-11 low nibble scale 4+k, high nibble min 4+k.
     */
    private static final byte[] SCALES = bytes(0x41, 0x82, 0xC3, 0xC4, 0x45, 0x86, 0x07, 0xC8, 0x41, 0x81, 0x0F, 0xF0);

    /** d = 0.5 (fp16 0x3800), dmin = 0.25 (0x3400), the scales above, nibble byte 32k+l = (l%16) | ((k+l)%16) << 4. */
    private static byte[] q4kBlock() {
        byte[] b = new byte[144];
        b[1] = 0x38;
        b[3] = 0x34;
        System.arraycopy(SCALES, 0, b, 4, 12);
        for (int k = 0; k < 4; k++) {
            for (int l = 0; l < 32; l++) {
                b[16 + 32 * k + l] = (byte) ((l % 16) | (((k + l) % 16) << 4));
            }
        }
        return b;
    }

    @Test
    void sixBitScalesAndMinsUnpackAsGetScaleMinK4() {
        MemorySegment s = MemorySegment.ofArray(SCALES);
        for (int j = 0; j < 8; j++) {
            assertEquals(LS[j], KQuants.scale(s, 0, j), "scale " + j);
            assertEquals(LM[j], KQuants.min(s, 0, j), "min " + j);
        }
        // the test encoder packs the same bytes
        byte[] packed = new byte[12];
        BlockEncoders.packScales(LS, LM, MemorySegment.ofArray(packed), 0);
        assertArrayEquals(SCALES, packed);
    }

    @Test
    void q4kHandBuiltBlock() {
        float[] out = new float[256];
        Codecs.dequantizeRow(GgmlType.Q4_K, MemorySegment.ofArray(q4kBlock()), 0, out, 0, 256);
        assertEquals(0.5f * 1 * 0 - 0.25f * 5, out[0]);                 // sub-block 0, q 0
        assertEquals(0.5f * 2 * 1 - 0.25f * 6, out[33]);                // sub-block 1 (high nibbles of bytes 0-31), q (0+1)%16
        assertEquals(0.5f * 63 * 8, out[200]);                         // sub-block 6, byte 96+8 low nibble 8, min 0
        assertEquals(0.5f * 48 * 2 - 0.25f * 63, out[255]);             // sub-block 7, byte 127 high nibble (3+31)%16
        for (int e = 0; e < 256; e++) {
            int sub = e / 32;
            int k = e / 64;
            int l = e % 32;
            int q = sub % 2 == 0 ? l % 16 : (k + l) % 16;
            assertEquals(0.5f * LS[sub] * q - 0.25f * LM[sub], out[e], "element " + e);
        }
        assertEquals(out[77], Codecs.element(GgmlType.Q4_K, MemorySegment.ofArray(q4kBlock()), 0, 77));
    }

    @Test
    void q5kHandBuiltBlockAddsTheFifthBitOfItsSubBlock() {
        byte[] q4 = q4kBlock();
        byte[] b = new byte[176];
        System.arraycopy(q4, 0, b, 0, 16);              // d, dmin, scales
        for (int l = 0; l < 32; l++) {
            b[16 + l] = (byte) (l * 37);                // qh: bit s of byte l is the fifth bit of element 32s + l
        }
        System.arraycopy(q4, 16, b, 48, 128);           // nibbles
        float[] out = new float[256];
        Codecs.dequantizeRow(GgmlType.Q5_K, MemorySegment.ofArray(b), 0, out, 0, 256);
        // element 33: sub-block 1, l 1; qh[1] = 37 = 0b100101, bit 1 clear: no +16
        assertEquals(0.5f * 2 * 1 - 0.25f * 6, out[33]);
        // element 2*32+2 = 66: sub-block 2, qh[2] = 74 = 0b1001010, bit 2 clear; element 32*3+2 = 98: bit 3 set
        assertEquals(0.5f * 3 * 2 - 0.25f * 7, out[66]);
        assertEquals(0.5f * 4 * (((1 + 2) % 16) + 16) - 0.25f * 8, out[98]);
        for (int e = 0; e < 256; e++) {
            int sub = e / 32;
            int k = e / 64;
            int l = e % 32;
            int q = (sub % 2 == 0 ? l % 16 : (k + l) % 16) + (((l * 37) & 0xFF) >> sub & 1) * 16;
            assertEquals(0.5f * LS[sub] * q - 0.25f * LM[sub], out[e], "element " + e);
        }
    }

    /** ql[i] = i, qh[i] = 5i, scales[j] = 2j - 15, d = 0.5 (fp16 at byte 208). */
    private static byte[] q6kBlock() {
        byte[] b = new byte[210];
        for (int i = 0; i < 128; i++) {
            b[i] = (byte) i;
        }
        for (int i = 0; i < 64; i++) {
            b[128 + i] = (byte) (5 * i);
        }
        for (int j = 0; j < 16; j++) {
            b[192 + j] = (byte) (2 * j - 15);
        }
        b[209] = 0x38;
        return b;
    }

    @Test
    void q6kHandBuiltBlock() {
        float[] out = new float[256];
        Codecs.dequantizeRow(GgmlType.Q6_K, MemorySegment.ofArray(q6kBlock()), 0, out, 0, 256);
        // element 0: ql[0] low 0, qh[0] bits 0-1 = 0: q 0-32; scale -15
        assertEquals(0.5f * -15 * -32, out[0]);
        // element 33: ql[33] = 0x21 low 1, qh[1] = 5 bits 2-3 = 1: q 17-32; scale 2 -> -11
        assertEquals(0.5f * -11 * -15, out[33]);
        // element 70: ql[6] high nibble 0, qh[6] = 30 bits 4-5 = 1: q 16-32; scale 4 -> -7
        assertEquals(0.5f * -7 * -16, out[70]);
        // element 130 (second half): ql[66] = 0x42 low 2, qh[34] = 170 bits 0-1 = 2: q 34-32; scale 8 -> 1
        assertEquals(0.5f * 1 * 2, out[130]);
        // element 255: ql[127] high nibble 7, qh[63] = 59 bits 6-7 = 0: q 7-32; scale 15 -> 15
        assertEquals(0.5f * 15 * -25, out[255]);
        // every element as dequantize_row_q6_K computes it
        byte[] b = q6kBlock();
        for (int n = 0; n < 2; n++) {
            for (int l = 0; l < 32; l++) {
                int ql0 = b[64 * n + l] & 0xFF;
                int ql32 = b[64 * n + l + 32] & 0xFF;
                int qh = b[128 + 32 * n + l] & 0xFF;
                int is = 8 * n + l / 16;
                assertEquals(0.5f * b[192 + is] * (((ql0 & 0xF) | ((qh & 3) << 4)) - 32), out[128 * n + l]);
                assertEquals(0.5f * b[192 + is + 2] * (((ql32 & 0xF) | (((qh >> 2) & 3) << 4)) - 32), out[128 * n + l + 32]);
                assertEquals(0.5f * b[192 + is + 4] * (((ql0 >> 4) | (((qh >> 4) & 3) << 4)) - 32), out[128 * n + l + 64]);
                assertEquals(0.5f * b[192 + is + 6] * (((ql32 >> 4) | (((qh >> 6) & 3) << 4)) - 32), out[128 * n + l + 96]);
            }
        }
    }

    @Test
    void q6kPackingOfTheTestEncoderIsTheDecodersInverse() {
        int[] q = new int[256];
        SplittableRandom r = new SplittableRandom(6);
        for (int e = 0; e < 256; e++) {
            q[e] = r.nextInt(64);
        }
        byte[] b = new byte[210];
        MemorySegment s = MemorySegment.ofArray(b);
        BlockEncoders.packQ6(q, s, 0);
        for (int e = 0; e < 256; e++) {
            assertEquals(q[e], KQuants.q6(s, 0, e), "element " + e);
        }
    }

    @Test
    void secondSuperBlockAtAnOffset() {
        byte[] row = new byte[3 + 2 * 210];
        System.arraycopy(q6kBlock(), 0, row, 3, 210);
        System.arraycopy(q6kBlock(), 0, row, 213, 210);
        row[213 + 209] = (byte) 0xB8;  // d = -0.5
        float[] out = new float[1 + 512];
        Codecs.dequantizeRow(GgmlType.Q6_K, MemorySegment.ofArray(row), 3, out, 1, 512);
        for (int e = 0; e < 256; e++) {
            assertEquals(-out[1 + e], out[1 + 256 + e], "element " + e);
        }
    }

    @Test
    void quantizeQ8kScalesByTheSignedMaximum() {
        float[] x = new float[256];
        for (int j = 0; j < 256; j++) {
            x[j] = (j - 100) / 10f;          // largest magnitude 15.5 at j = 255
        }
        float[] d = new float[1];
        byte[] q = new byte[256];
        short[] sums = new short[16];
        KQuants.quantizeQ8_K(x, 0, 256, d, 0, q, 0, sums, 0);
        float iscale = -127f / 15.5f;
        assertEquals(1f / iscale, d[0]);
        assertTrue(d[0] < 0, "d takes the sign of -max");
        assertEquals(-127, q[255]);
        for (int j = 0; j < 256; j++) {
            assertEquals((int) Math.rint(iscale * x[j]), q[j], "quant " + j);
            assertTrue(Math.abs(d[0] * q[j] - x[j]) <= Math.abs(d[0]) / 2 + 1e-6, "element " + j);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int k = 0; k < 16; k++) {
                sum += q[16 * g + k];
            }
            assertEquals(sum, sums[g], "sum " + g);
        }
    }

    @Test
    void quantizeQ8kTiesToEvenClampsAt127AndZeroBlocks() {
        float[] x = new float[512];
        x[0] = -127f;                         // max = -127: iscale = 1
        x[1] = 0.5f;
        x[2] = 1.5f;
        x[3] = 2.5f;
        x[4] = -2.5f;
        x[5] = 127f;
        float[] d = new float[3];
        byte[] q = new byte[1 + 512];
        short[] sums = new short[1 + 32];
        d[2] = 9f;
        KQuants.quantizeQ8_K(x, 0, 512, d, 1, q, 1, sums, 1);
        assertEquals(1f, d[1]);
        assertEquals(-127, q[1]);
        assertEquals(0, q[2]);
        assertEquals(2, q[3]);
        assertEquals(2, q[4]);
        assertEquals(-2, q[5]);
        assertEquals(127, q[6]);
        assertEquals(-127 + 0 + 2 + 2 - 2 + 127, sums[1]);
        assertEquals(0f, d[2], "an all-zero block has d 0");
        for (int j = 257; j <= 512; j++) {
            assertEquals(0, q[j]);
        }
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }
}
