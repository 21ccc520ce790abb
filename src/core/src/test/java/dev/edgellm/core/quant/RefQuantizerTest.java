package dev.edgellm.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.testing.SharedFiles;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * ggml's reference encoders ({@code quantize_row_q4_0_ref}, {@code quantize_row_q8_0_ref}) on blocks
 * computed by hand, and against the Q4_0 blocks llama-quantize wrote into the shared model.
 */
class RefQuantizerTest {

    private static byte[] q4(float... x) {
        byte[] out = new byte[18];
        RefQuantizer.q4_0(x, 0, x.length, out, 0);
        return out;
    }

    private static short d(byte[] b) {
        return (short) ((b[0] & 0xFF) | (b[1] << 8));
    }

    @Test
    void q4_0NegativeMaxMapsToLevelMinus8() {
        // max (signed, by magnitude) = -4: d = -4/-8 = 0.5, id = 2; x*id + 8.5 truncated
        float[] x = new float[32];
        x[0] = -4f;     // -8 + 8.5 = 0.5  -> 0
        x[1] = 3.5f;    //  7 + 8.5 = 15.5 -> 15
        x[2] = 0.25f;   //  0.5 + 8.5 = 9  -> 9 (exact, no rounding down)
        x[3] = -0.26f;  // -0.52 + 8.5 = 7.98 -> 7
        x[16] = 1f;     //  2 + 8.5 = 10.5 -> 10 (high nibble of byte 0)
        x[17] = -1.75f; // -3.5 + 8.5 = 5  -> 5
        byte[] b = q4(x);
        assertEquals(Float.floatToFloat16(0.5f), d(b));
        int[] lo = new int[16];
        int[] hi = new int[16];
        for (int j = 0; j < 16; j++) {
            lo[j] = b[2 + j] & 0x0F;
            hi[j] = (b[2 + j] >> 4) & 0x0F;
        }
        assertEquals(0, lo[0]);
        assertEquals(15, lo[1]);
        assertEquals(9, lo[2]);
        assertEquals(7, lo[3]);
        assertEquals(8, lo[4], "0 maps to 8");
        assertEquals(10, hi[0]);
        assertEquals(5, hi[1]);
    }

    @Test
    void q4_0PositiveMaxGivesNegativeScaleAndTheClampAt15() {
        // max = +4: d = -0.5, id = -2; the opposite extreme -4 -> 8 + 8.5 = 16.5 -> 16 -> MIN(15, 16)
        float[] x = new float[32];
        x[0] = 4f;
        x[1] = -4f;
        x[2] = -3.9f;  // 7.8 + 8.5 = 16.3 -> 16 -> 15
        x[3] = 1f;     // -2 + 8.5 = 6.5 -> 6
        byte[] b = q4(x);
        assertEquals(Float.floatToFloat16(-0.5f), d(b));
        assertEquals(0, b[2] & 0x0F);
        assertEquals(15, b[3] & 0x0F);
        assertEquals(15, b[4] & 0x0F);
        assertEquals(6, b[5] & 0x0F);
    }

    @Test
    void q4_0FirstOfEqualMagnitudesWinsAndZeroBlockIsAllEights() {
        float[] x = new float[32];
        x[5] = 2f;
        x[9] = -2f; // same magnitude later: the first (+2) keeps max, so d = -0.25
        assertEquals(Float.floatToFloat16(-0.25f), d(q4(x)));
        byte[] zero = q4(new float[32]);
        assertEquals((short) 0x8000, d(zero), "C's 0.0f / -8 is -0.0, stored as float16 0x8000");
        for (int j = 2; j < 18; j++) {
            assertEquals((byte) 0x88, zero[j]);
        }
    }

    @Test
    void q4_0ScaleIsRoundedToNearestEvenFloat16() {
        // d = 0.1 / -8... use a max whose d is not a float16: 1/3
        float[] x = new float[32];
        x[0] = -8f / 3f;
        byte[] b = q4(x);
        assertEquals(Float.floatToFloat16(1f / 3f), d(b));
    }

    @Test
    void q8_0RoundsHalvesAwayFromZero() {
        // amax 127 -> d = 1, id = 1: x*id is x exactly
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = -2.5f;  // roundf -> -3 (Math.round would give -2)
        x[2] = 2.5f;   // 3
        x[3] = -0.5f;  // -1
        x[4] = 0.49999997f; // 0
        byte[] b = new byte[34];
        RefQuantizer.q8_0(x, 0, 32, b, 0);
        assertEquals(Float.floatToFloat16(1f), d(b));
        assertEquals(127, b[2]);
        assertEquals(-3, b[3]);
        assertEquals(3, b[4]);
        assertEquals(-1, b[5]);
        assertEquals(0, b[6]);
        assertEquals(-3, RefQuantizer.roundf(-2.5f));
        assertEquals(2, RefQuantizer.roundf(1.5f));
    }

    /**
     * The shared Q4_0 model was written by llama-quantize with the reference encoder (no importance
     * matrix): every block maps its largest weight to level -8 exactly, so encoding a block's
     * decoded values again must give back the same 18 bytes. Over every Q4_0 block in the file.
     */
    @Test
    void reEncodingLlamaQuantizeBlocksGivesTheSameBytes() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-tiny-q4_0.gguf"))) {
            long blocks = 0;
            for (GgufTensor t : f.tensors().values()) {
                if (t.type() != GgmlType.Q4_0) {
                    continue;
                }
                MemorySegment s = t.data();
                float[] x = new float[32];
                byte[] mine = new byte[18];
                for (long off = 0; off < t.byteSize(); off += 18) {
                    Codecs.dequantizeRow(GgmlType.Q4_0, s, off, x, 0, 32);
                    RefQuantizer.q4_0(x, 0, 32, mine, 0);
                    byte[] theirs = s.asSlice(off, 18).toArray(ValueLayout.JAVA_BYTE);
                    if (!Arrays.equals(theirs, mine)) {
                        assertArrayEquals(theirs, mine, t.name() + " block at byte " + off);
                    }
                    blocks++;
                }
            }
            assertTrue(blocks > 100_000, "checked " + blocks + " blocks");
        }
    }
}
