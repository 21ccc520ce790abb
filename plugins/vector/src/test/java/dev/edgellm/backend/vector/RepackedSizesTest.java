package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgellm.core.fit.MemoryFit;
import dev.edgellm.core.gguf.GgmlType;
import org.junit.jupiter.api.Test;

/** Memory fit counts the repacked copies at the sizes this backend really allocates. */
class RepackedSizesTest {
    @Test
    void memoryFitKnowsTheLegacyCopies() {
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q5_0}) {
            assertEquals(PackedWeight.blockBytes(t), (long) Simd.R * MemoryFit.repackedBytesPerBlock(t), t.toString());
        }
    }

    @Test
    void memoryFitKnowsTheKQuantCopies() {
        for (GgmlType t : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            assertEquals(PackedKWeight.blockBytes(t), (long) Simd.R * MemoryFit.repackedBytesPerBlock(t), t.toString());
        }
    }
}
