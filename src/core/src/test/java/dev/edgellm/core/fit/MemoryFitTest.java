package dev.edgellm.core.fit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MemoryFitTest {
    @Test
    void weightsComeFromTensorInfos() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-tiny-mixed.gguf"))) {
            Map<GgmlType, Long> w = MemoryFit.weightsByType(f);
            assertEquals(java.util.Set.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0), w.keySet());
            assertEquals(f.tensors().values().stream().mapToLong(t -> t.byteSize()).sum(), w.values().stream().mapToLong(Long::longValue).sum());
            assertEquals(262144L * 64 / 32 * 34, f.tensor("token_embd.weight").byteSize());
            assertTrue(w.get(GgmlType.Q8_0) >= 262144L * 64 / 32 * 34);
        }
    }

    /** Q4_0/Q8_0 rows count in whole 32-row groups (a repacked copy pads them); other types as stored. */
    @Test
    void quantizedRowsCountInWholeRepackGroups(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws IOException {
        java.nio.file.Path p = dir.resolve("w.gguf");
        java.nio.file.Files.write(p, new dev.edgellm.core.testing.GgufWriter()
                .tensor("a", GgmlType.Q4_0, new long[] {64, 33}, new byte[33 * 2 * 18])
                .tensor("b", GgmlType.Q8_0, new long[] {32, 64}, new byte[64 * 34])
                .tensor("c", GgmlType.F16, new long[] {8, 33}, new byte[33 * 8 * 2])
                .toBytes());
        try (GgufFile f = GgufFile.open(p)) {
            Map<GgmlType, Long> w = MemoryFit.weightsByType(f);
            assertEquals(64L * 2 * 18, w.get(GgmlType.Q4_0));
            assertEquals(64L * 34, w.get(GgmlType.Q8_0));
            assertEquals(33L * 8 * 2, w.get(GgmlType.F16));
        }
    }

    @Test
    void kvCacheCapsSlidingLayersAtTheirRing() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-tiny-q4_0.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            // 7 layers, 1 KV head of 64, f16 K and V: 256 bytes per token per layer.
            // Layer 5 is global (2048 slots); the 6 sliding layers keep window 32 + batch 64 - 1 = 95 slots.
            assertEquals(256L * (2048 + 6 * 95), MemoryFit.kvCacheBytes(c, 2048, 64));
            // a short context caps both
            assertEquals(256L * 7 * 50, MemoryFit.kvCacheBytes(c, 50, 64));
        }
    }

    @Test
    void verdicts() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-tiny-q4_0.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            Map<GgmlType, Long> w = MemoryFit.weightsByType(f);
            long need = MemoryFit.estimate(c, w, 2048, 64, MemoryFit.DEFAULT_RUNTIME_OVERHEAD).totalBytes();
            FitVerdict fits = MemoryFit.judge(c, w, 2048, 64, MemoryFit.DEFAULT_RUNTIME_OVERHEAD, need, "test");
            assertEquals(FitVerdict.Status.FITS, fits.status());
            assertEquals(2048, fits.maxContext());

            long at1000 = MemoryFit.estimate(c, w, 1000, 64, MemoryFit.DEFAULT_RUNTIME_OVERHEAD).totalBytes();
            FitVerdict reduced = MemoryFit.judge(c, w, 2048, 64, MemoryFit.DEFAULT_RUNTIME_OVERHEAD, at1000, "test");
            assertEquals(FitVerdict.Status.FITS_REDUCED_CONTEXT, reduced.status());
            assertEquals(1000, reduced.maxContext());
            assertTrue(reduced.summary().startsWith("fits up to a context of 1000 tokens"), reduced.summary());

            FitVerdict no = MemoryFit.judge(c, w, 2048, 64, MemoryFit.DEFAULT_RUNTIME_OVERHEAD, 50L << 20, "test");
            assertEquals(FitVerdict.Status.DOES_NOT_FIT, no.status());
            assertTrue(no.summary().contains("does not fit"), no.summary());
        }
    }

    @Test
    void catalogAgreesWithGooglesPublishedTableWithin15Percent() {
        int checked = 0;
        for (ModelCatalog.Entry e : ModelCatalog.gemma3()) {
            for (Map.Entry<GgmlType, Double> p : e.publishedGb().entrySet()) {
                double ours = e.totalWeightBytes(p.getKey()) / 1e9;
                double ratio = ours / p.getValue();
                assertTrue(ratio > 0.85 && ratio < 1.15, e.name() + " " + p.getKey() + ": " + ours + " GB vs published " + p.getValue());
                checked++;
            }
        }
        assertEquals(8, checked);
    }

    @Test
    void catalogParameterCountsMatchTheModelNames() {
        Map<String, Double> billions = Map.of("gemma-3-270m", 0.27, "gemma-3-1b", 1.0, "gemma-3-4b", 4.3, "gemma-3-12b", 12.2, "gemma-3-27b", 27.4);
        for (ModelCatalog.Entry e : ModelCatalog.gemma3()) {
            double b = (e.textParameters() + e.visionParameters()) / 1e9;
            assertEquals(billions.get(e.name()), b, billions.get(e.name()) * 0.05, e.name());
        }
    }
}
