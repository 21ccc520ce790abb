package dev.edgellm.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufValueType;
import dev.edgellm.core.testing.GgufWriter;
import dev.edgellm.core.testing.GgufWriter.Value;
import dev.edgellm.core.testing.SharedFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {
    @TempDir
    Path dir;

    private ModelConfig gemma(UnaryOperator<GgufWriter> extra) throws Exception {
        GgufWriter w = new GgufWriter()
                .kv("general.architecture", Value.str("gemma3"))
                .kv("gemma3.embedding_length", Value.u32(8))
                .kv("gemma3.block_count", Value.u32(8))
                .kv("gemma3.feed_forward_length", Value.u32(16))
                .kv("gemma3.attention.head_count", Value.u32(4))
                .kv("gemma3.attention.head_count_kv", Value.u32(2))
                .kv("gemma3.attention.key_length", Value.u32(4))
                .kv("gemma3.attention.value_length", Value.u32(4))
                .kv("gemma3.context_length", Value.u32(128))
                .kv("gemma3.attention.layer_norm_rms_epsilon", Value.f32(1e-6f))
                .kv("gemma3.attention.sliding_window", Value.u32(16))
                .kv("gemma3.rope.freq_base", Value.f32(1e6f));
        w = extra.apply(w).tensor("token_embd.weight", GgmlType.F32, new long[] {8, 5}, GgufWriter.f32(new float[40]));
        Path p = w.write(dir.resolve("m" + System.nanoTime() + ".gguf"));
        try (GgufFile f = GgufFile.open(p)) {
            return ModelConfig.fromGguf(f);
        }
    }

    @Test
    void gemmaDefaultsEverySixthLayerGlobal() throws Exception {
        ModelConfig c = gemma(w -> w);
        assertArrayEquals(new boolean[] {true, true, true, true, true, false, true, true}, c.slidingLayers());
        assertEquals(16, c.slidingWindow());
        assertEquals(10000f, c.ropeLocal().freqBase());
        assertEquals(1e6f, c.ropeGlobal().freqBase());
        assertTrue(c.ropeGlobal().neox());
        assertEquals((float) Math.sqrt(8), c.embedScale());
        assertEquals(0.5f, c.attentionScale()); // 1/sqrt(head_dim 4), not 1/sqrt(dim/heads)
        assertEquals(5, c.vocabSize());
        assertEquals(16, c.attention(0).window());
        assertEquals(0, c.attention(5).window());
    }

    @Test
    void slidingPatternAsIntegerOrPerLayerArray() throws Exception {
        assertArrayEquals(new boolean[] {true, true, true, false, true, true, true, false},
                gemma(w -> w.kv("gemma3.attention.sliding_window_pattern", Value.u32(4))).slidingLayers());
        assertArrayEquals(new boolean[] {false, true, false, true, false, true, false, true},
                gemma(w -> w.kv("gemma3.attention.sliding_window_pattern", Value.array(GgufValueType.BOOL,
                        Value.bool(false), Value.bool(true), Value.bool(false), Value.bool(true),
                        Value.bool(false), Value.bool(true), Value.bool(false), Value.bool(true)))).slidingLayers());
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> gemma(w -> w.kv("gemma3.attention.sliding_window_pattern",
                Value.array(GgufValueType.BOOL, Value.bool(true)))));
        assertTrue(e.getMessage().contains("sliding_window_pattern"), e.getMessage());
    }

    @Test
    void localRopeBaseAndLinearScalingOnGlobalLayersOnly() throws Exception {
        ModelConfig c = gemma(w -> w.kv("gemma3.rope.freq_base_swa", Value.f32(5000f))
                .kv("gemma3.rope.scaling.type", Value.str("linear")).kv("gemma3.rope.scaling.factor", Value.f32(8f)));
        assertEquals(5000f, c.ropeLocal().freqBase());
        assertEquals(1f, c.ropeLocal().freqScale());
        assertEquals(0.125f, c.ropeGlobal().freqScale());
        assertEquals(c.ropeGlobal(), c.rope(5));
        assertEquals(c.ropeLocal(), c.rope(0));
    }

    @Test
    void badMetadataIsNamed() throws Exception {
        GgufFormatException heads = assertThrows(GgufFormatException.class, () -> gemma(w -> w.kv("gemma3.attention.head_count_kv", Value.u32(3))));
        assertTrue(heads.getMessage().contains("head_count"), heads.getMessage());
        GgufFormatException rope = assertThrows(GgufFormatException.class, () -> gemma(w -> w.kv("gemma3.rope.scaling.type", Value.str("yarn"))
                .kv("gemma3.rope.scaling.factor", Value.f32(4f))));
        assertTrue(rope.getMessage().contains("yarn"), rope.getMessage());
        GgufFormatException arch = assertThrows(GgufFormatException.class, () -> {
            Path p = new GgufWriter().kv("general.architecture", Value.str("mamba")).write(dir.resolve("mamba.gguf"));
            try (GgufFile f = GgufFile.open(p)) {
                ModelConfig.fromGguf(f);
            }
        });
        assertTrue(arch.getMessage().contains("'mamba' is not supported"), arch.getMessage());
    }

    @Test
    void llamaUsesAdjacentPairRopeAndNoWindow() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.model("stories260K.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            assertEquals(64, c.dim());
            assertEquals(8, c.heads());
            assertEquals(4, c.kvHeads());
            assertEquals(8, c.keyDim());
            assertTrue(!c.ropeGlobal().neox());
            assertEquals(0, c.slidingLayerCount());
            assertEquals(1f, c.embedScale());
        }
    }

    @Test
    void weightWithTheWrongShapeIsNamed() throws Exception {
        // Shrink blk.0.attn_q.weight from [64, 64] to [64, 32] in a copy of stories260K.
        byte[] b = Files.readAllBytes(SharedFiles.model("stories260K.gguf"));
        byte[] name = "blk.0.attn_q.weight".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(b, name) + name.length; // then n_dims (u32), dims (u64 x2)
        GgufWriter.patch(b, at + 4 + 8, 32, 8);
        Path p = dir.resolve("bad-shape.gguf");
        Files.write(p, b);
        try (ScalarBackend backend = new ScalarBackend(1)) {
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> LanguageModel.load(p, backend));
            assertTrue(e.getMessage().contains("'blk.0.attn_q.weight' has shape [64, 32]") && e.getMessage().contains("[64, 64]"), e.getMessage());
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new IllegalStateException("not found");
    }
}
