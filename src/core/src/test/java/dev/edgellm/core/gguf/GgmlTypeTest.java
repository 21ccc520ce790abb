package dev.edgellm.core.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Pins the block layouts and GGUF ids against ggml.h / ggml-common.h (sizeof of each block_* struct). */
class GgmlTypeTest {

    @ParameterizedTest(name = "{0}: id {1}, {2} elements in {3} bytes")
    @CsvSource({
        // supported
        "F32,     0,   1,   4",
        "F16,     1,   1,   2",
        "BF16,   30,   1,   2",
        "Q8_0,    8,  32,  34",   // ggml_half d; int8_t qs[32]
        "Q4_0,    2,  32,  18",   // ggml_half d; uint8_t qs[16]
        "Q4_1,    3,  32,  20",   // ggml_half d, m; uint8_t qs[16]
        "Q5_0,    6,  32,  22",   // ggml_half d; uint8_t qh[4]; uint8_t qs[16]
        "Q5_1,    7,  32,  24",   // ggml_half d, m; uint8_t qh[4]; uint8_t qs[16]
        "Q4_K,   12, 256, 144",   // ggml_half d, dmin; uint8_t scales[12]; uint8_t qs[128]
        "Q5_K,   13, 256, 176",   // ggml_half d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]
        "Q6_K,   14, 256, 210",   // uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d
        // activation types (llama.cpp's vec_dot_type of the above)
        "Q8_1,    9,  32,  36",   // ggml_half d, s; int8_t qs[32]
        "Q8_K,   15, 256, 292",   // float d; int8_t qs[256]; int16_t bsums[16]
        // known, unsupported (sizeof(block_*) in ggml-common.h with QK_K = 256)
        "Q2_K,   10, 256,  84",
        "Q3_K,   11, 256, 110",
        "IQ2_XXS,16, 256,  66",
        "IQ2_XS, 17, 256,  74",
        "IQ3_XXS,18, 256,  98",
        "IQ1_S,  19, 256,  50",
        "IQ4_NL, 20,  32,  18",
        "IQ3_S,  21, 256, 110",
        "IQ2_S,  22, 256,  82",
        "IQ4_XS, 23, 256, 136",
        "I8,     24,   1,   1",
        "I16,    25,   1,   2",
        "I32,    26,   1,   4",
        "I64,    27,   1,   8",
        "F64,    28,   1,   8",
        "IQ1_M,  29, 256,  56",
        "TQ1_0,  34, 256,  54",
        "TQ2_0,  35, 256,  66",
        "MXFP4,  39,  32,  17",
    })
    void layoutMatchesGgml(GgmlType type, int id, int blockSize, int bytesPerBlock) {
        assertEquals(id, type.id());
        assertEquals(blockSize, type.blockSize());
        assertEquals(bytesPerBlock, type.bytesPerBlock());
        assertSame(type, GgmlType.byId(id));
        assertEquals(blockSize > 1, type.quantized());
    }

    @Test
    void exactlyTheComputeTypesAreSupported() {
        Set<GgmlType> supported = EnumSet.noneOf(GgmlType.class);
        for (GgmlType t : GgmlType.values()) {
            if (t.supported()) {
                supported.add(t);
            }
        }
        assertEquals(EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1,
                GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K), supported);
        assertFalse(GgmlType.Q8_K.supported(), "an activation type, never a weight");
        assertFalse(GgmlType.Q8_1.supported(), "an activation type, never a weight");
        assertFalse(GgmlType.Q3_K.supported());
    }

    @Test
    void bitsPerWeightAndScaleOffsets() {
        assertEquals(4.5, GgmlType.Q4_0.bitsPerWeight());
        assertEquals(4.5, GgmlType.Q4_K.bitsPerWeight());
        assertEquals(5.5, GgmlType.Q5_K.bitsPerWeight());
        assertEquals(6.5625, GgmlType.Q6_K.bitsPerWeight());
        assertEquals(5.0, GgmlType.Q4_1.bitsPerWeight());
        assertEquals(5.5, GgmlType.Q5_0.bitsPerWeight());
        assertEquals(6.0, GgmlType.Q5_1.bitsPerWeight());
        assertEquals(16.0, GgmlType.BF16.bitsPerWeight());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {208}, GgmlType.Q6_K.halfScaleOffsets());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {0, 2}, GgmlType.Q4_K.halfScaleOffsets());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {0}, GgmlType.Q5_0.halfScaleOffsets());
        assertEquals(0, GgmlType.F16.halfScaleOffsets().length);
    }

    @Test
    void idsAreUniqueAndRoundTrip() {
        for (GgmlType t : GgmlType.values()) {
            assertSame(t, GgmlType.byId(t.id()), t.toString());
        }
    }

    @Test
    void unknownAndRemovedIdsAreNull() {
        // 4 and 5 were Q4_2/Q4_3; 31-33 and 36-38 were the removed repacked Q4_0_x_x / IQ4_NL_x_x types.
        for (long id : new long[] {4, 5, 31, 32, 33, 36, 37, 38, 40, 63, 64, 1000, -1, Integer.MAX_VALUE, 1L << 32, Long.MIN_VALUE}) {
            assertNull(GgmlType.byId(id), "id " + id);
        }
    }

    @Test
    void byteSizeOfWholeBlocks() {
        assertEquals(4L * 64, GgmlType.F32.byteSize(64));
        assertEquals(2L * 64, GgmlType.BF16.byteSize(64));
        assertEquals(18L * 4, GgmlType.Q4_0.byteSize(128));
        assertEquals(34L * 262144 * 2, GgmlType.Q8_0.byteSize(64L * 262144));
        assertEquals(144L, GgmlType.Q4_K.byteSize(256));
        assertEquals(210L * 3, GgmlType.Q6_K.byteSize(768));
        assertEquals(0L, GgmlType.Q4_0.byteSize(0));
    }

    @Test
    void byteSizeRefusesPartialBlocks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GgmlType.Q4_0.byteSize(33));
        assertTrue(e.getMessage().contains("Q4_0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q6_K.byteSize(255));
    }
}
