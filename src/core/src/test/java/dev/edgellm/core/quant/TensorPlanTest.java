package dev.edgellm.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.testing.GgufWriter;
import dev.edgellm.core.testing.SharedFiles;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama-quantize's choice of tensor types, on the shared models. */
class TensorPlanTest {

    @TempDir
    Path dir;

    @Test
    void stories260KQ4_0IsWhatLlamaQuantizeWrites() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.model("stories260K.gguf"))) {
            TensorPlan p = TensorPlan.of(f, GgmlType.Q4_0, false);
            assertFalse(p.tiedOutput());
            assertEquals(48, p.items().size());
            for (TensorPlan.Item i : p.items()) {
                String n = i.name();
                GgmlType want;
                if (n.endsWith("_norm.weight")) {
                    want = GgmlType.F32;
                    assertEquals(TensorPlan.Action.COPY, i.action(), n);
                } else if (n.equals("output.weight")) {
                    want = GgmlType.Q8_0;     // Q6_K for the output, 64 columns is no multiple of 256: Q8_0
                    assertTrue(i.output());
                } else if (n.endsWith("ffn_down.weight")) {
                    want = GgmlType.F16;      // 172 columns: no multiple of 32
                    assertEquals(TensorPlan.Action.CONVERT, i.action(), n);
                } else {
                    want = GgmlType.Q4_0;     // the token embedding too
                    assertEquals(TensorPlan.Action.QUANTIZE, i.action(), n);
                }
                assertEquals(want, i.type(), n);
            }
            assertTrue(p.warnings().isEmpty());
            TensorPlan q8 = TensorPlan.of(f, GgmlType.Q8_0, false);
            assertEquals(GgmlType.Q8_0, q8.item("blk.0.attn_q.weight").type());
            assertEquals(GgmlType.F16, q8.item("blk.0.ffn_down.weight").type());
        }
    }

    @Test
    void alreadyQuantizedModelsAreRefusedByTensorName() throws Exception {
        for (String m : new String[] {"gemma3-tiny-q4_0.gguf", "gemma3-tiny-mixed.gguf", "stories260K-q4_k_m.gguf"}) {
            try (GgufFile f = GgufFile.open(SharedFiles.model(m))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorPlan.of(f, GgmlType.Q4_0, false));
                assertTrue(e.getMessage().contains("is already Q") && e.getMessage().contains("tensor '"), e.getMessage());
                assertFalse(e.getMessage().contains("\n"));
            }
        }
    }

    @Test
    void tiedEmbeddingIsTheOutputAndQ8_0InputsAreRequantizedWithAWarning() throws Exception {
        float[] v = new float[64 * 4];
        byte[] q8 = new byte[34 * 8];
        Path p = new GgufWriter()
                .kv("general.architecture", GgufWriter.Value.str("llama"))
                .tensor("token_embd.weight", GgmlType.F32, new long[] {64, 4}, GgufWriter.f32(v))
                .tensor("blk.0.attn_q.weight", GgmlType.Q8_0, new long[] {64, 4}, q8)
                .tensor("blk.0.attn_norm.weight", GgmlType.F16, new long[] {64}, GgufWriter.f16(new float[64]))
                .write(dir.resolve("tied.gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            TensorPlan plan = TensorPlan.of(f, GgmlType.Q4_0, true);
            assertTrue(plan.tiedOutput());
            assertEquals(GgmlType.Q8_0, plan.item("token_embd.weight").type());
            assertTrue(plan.item("token_embd.weight").output());
            assertEquals(GgmlType.Q4_0, plan.item("blk.0.attn_q.weight").type());
            assertEquals(1, plan.warnings().size());
            assertTrue(plan.warnings().get(0).contains("Q8_0"), plan.warnings().get(0));
            // folded scales need float32 norms
            assertEquals(GgmlType.F32, plan.item("blk.0.attn_norm.weight").type());
            assertEquals(TensorPlan.Action.CONVERT, plan.item("blk.0.attn_norm.weight").action());
            // a Q8_0 tensor that stays Q8_0 is copied, not quantized again
            TensorPlan q8plan = TensorPlan.of(f, GgmlType.Q8_0, false);
            assertEquals(TensorPlan.Action.COPY, q8plan.item("blk.0.attn_q.weight").action());
            assertTrue(q8plan.warnings().isEmpty());
        }
    }
}
