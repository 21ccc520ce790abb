package dev.edgellm.core.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads the real models in shared/models and checks them against values dumped independently (gguf-py layout). */
class GgufFileTest {
    private static GgufFile stories;
    private static GgufFile gemma;
    private static GgufFile mixed;
    private static GgufFile vocab;

    @BeforeAll
    static void open() throws IOException {
        stories = GgufFile.open(SharedFiles.model("stories260K.gguf"));
        gemma = GgufFile.open(SharedFiles.model("gemma3-tiny-q4_0.gguf"));
        mixed = GgufFile.open(SharedFiles.model("gemma3-tiny-mixed.gguf"));
        vocab = GgufFile.open(SharedFiles.model("llama-spm-vocab.gguf"));
    }

    @AfterAll
    static void close() {
        for (GgufFile f : new GgufFile[] {stories, gemma, mixed, vocab}) {
            if (f != null) {
                f.close();
            }
        }
    }

    // ---------------------------------------------------------------- header and metadata

    @Test
    void storiesHeader() {
        assertEquals(3, stories.version());
        assertEquals(48, stories.tensors().size());
        assertEquals(19, stories.metadata().entries().size());
        assertEquals(1185376, stories.fileSize());
        assertEquals(32, stories.alignment()); // no general.alignment key: the default
        assertFalse(stories.metadata().contains("general.alignment"));
        assertEquals(14176, stories.dataOffset()); // header ends at 14152, aligned up to 32
    }

    @Test
    void storiesMetadata() {
        GgufMetadata m = stories.metadata();
        assertEquals("llama", m.architecture());
        assertEquals("llama", m.getString("tokenizer.ggml.model"));
        assertEquals(8, m.getInt("llama.rope.dimension_count"));
        assertEquals(64, m.getInt("llama.embedding_length"));
        assertEquals(172, m.getInt("llama.feed_forward_length"));
        assertEquals(5, m.getPositiveInt("llama.block_count"));
        assertEquals(8, m.getInt("llama.attention.head_count"));
        assertEquals(4, m.getInt("llama.attention.head_count_kv"));
        assertEquals(2048, m.getInt("llama.context_length"));
        assertEquals(1e-5f, m.getFloat("llama.attention.layer_norm_rms_epsilon"));
        assertEquals(GgufValueType.FLOAT32, m.entry("llama.attention.layer_norm_rms_epsilon").orElseThrow().type());

        // u32 0xFFFFFFFF keeps its unsigned value and does not fit an int.
        GgufMetadata.Entry sep = m.entry("tokenizer.ggml.seperator_token_id").orElseThrow();
        assertEquals(GgufValueType.UINT32, sep.type());
        assertEquals(4294967295L, sep.value());
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> m.getInt("tokenizer.ggml.seperator_token_id"));
        assertMessage(e, "tokenizer.ggml.seperator_token_id", "offset", "4294967295");

        String[] tokens = m.getStringArray("tokenizer.ggml.tokens");
        assertEquals(512, tokens.length);
        assertEquals("<unk>", tokens[0]);
        assertEquals("<s>", tokens[1]);
        assertEquals("</s>", tokens[2]);
        GgufArray scores = m.getArray("tokenizer.ggml.scores");
        assertEquals(GgufValueType.FLOAT32, scores.elementType());
        assertEquals(512, scores.length());
        GgufArray types = m.getArray("tokenizer.ggml.token_type");
        assertEquals(GgufValueType.INT32, types.elementType());
        assertEquals(2, types.getLong(0));
        assertEquals(3, types.getLong(1));

        // The first key sits right after the 24-byte header.
        assertEquals(24, m.entries().iterator().next().offset());
        assertEquals("tokenizer.ggml.tokens", m.entries().iterator().next().key());
    }

    @Test
    void gemmaHeaderAndMetadata() {
        assertEquals(3, gemma.version());
        assertEquals(93, gemma.tensors().size());
        assertEquals(27, gemma.metadata().entries().size());
        GgufMetadata m = gemma.metadata();
        assertEquals("gemma3", m.architecture());
        assertEquals("synthetic-gemma3-tiny", m.getString("general.name"));
        assertEquals(128, m.getInt("gemma3.embedding_length"));
        assertEquals(32, m.getInt("gemma3.attention.sliding_window"));
        assertEquals(7, m.getInt("gemma3.block_count"));
        assertEquals(512, m.getInt("gemma3.feed_forward_length"));
        assertEquals(4, m.getInt("gemma3.attention.head_count"));
        assertEquals(1, m.getInt("gemma3.attention.head_count_kv"));
        assertEquals(64, m.getInt("gemma3.attention.key_length"));
        assertEquals(1e6f, m.getFloat("gemma3.rope.freq_base"));
        assertEquals(1e-6f, m.getFloat("gemma3.attention.layer_norm_rms_epsilon"));
        assertTrue(m.getBoolean("tokenizer.ggml.add_bos_token", false));
        assertFalse(m.getBoolean("tokenizer.ggml.add_eos_token", true));
        assertEquals(2, m.getInt("tokenizer.ggml.bos_token_id"));
        assertEquals(32, gemma.alignment());
        assertEquals(32, m.getInt("general.alignment"));
        assertTrue(m.getString("tokenizer.chat_template").startsWith("{{ bos_token }}"));

        String[] tokens = m.getStringArray("tokenizer.ggml.tokens");
        assertEquals(262144, tokens.length);
        assertEquals("<pad>", tokens[0]);
        assertEquals("<eos>", tokens[1]);
        assertEquals("<bos>", tokens[2]);
        assertEquals(262144, m.getArray("tokenizer.ggml.scores").length());
        assertEquals(262144, m.getArray("tokenizer.ggml.token_type").length());
        assertEquals(6517696, gemma.dataOffset());
    }

    @Test
    void vocabOnlyFileHasNoTensors() {
        assertEquals(3, vocab.version());
        assertEquals(0, vocab.tensors().size());
        assertEquals(22, vocab.metadata().entries().size());
        assertEquals(128, vocab.metadata().getInt("llama.rope.dimension_count"));
        assertEquals(32000, vocab.metadata().getStringArray("tokenizer.ggml.tokens").length);
        assertEquals("default", vocab.metadata().getString("tokenizer.ggml.pre"));
    }

    @Test
    void missingFileIsNoSuchFile(@TempDir Path dir) {
        Path p = dir.resolve("absent.gguf");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("absent.gguf"), e.getMessage());
    }

    @Test
    void wrongTypeAccessNamesKeyAndOffset() {
        GgufMetadata m = gemma.metadata();
        assertMessage(assertThrows(GgufFormatException.class, () -> m.getInt("general.name")), "general.name", "offset", "str");
        assertMessage(assertThrows(GgufFormatException.class, () -> m.getString("gemma3.block_count")), "gemma3.block_count", "offset");
        assertMessage(assertThrows(GgufFormatException.class, () -> m.getArray("general.name")), "general.name", "offset");
        assertMessage(assertThrows(GgufFormatException.class, () -> m.getString("no.such.key")), "no.such.key", "missing");
        assertMessage(assertThrows(GgufFormatException.class, () -> m.getStringArray("tokenizer.ggml.scores")), "tokenizer.ggml.scores", "offset");
        assertMessage(assertThrows(GgufFormatException.class, () -> gemma.tensor("blk.99.attn_q.weight")), "blk.99.attn_q.weight", "missing");
    }

    // ---------------------------------------------------------------- tensors

    @Test
    void gemmaTensorShapesAndTypes() {
        GgufTensor embd = gemma.tensor("token_embd.weight");
        assertEquals(GgmlType.Q4_0, embd.type());
        assertArrayEquals(new long[] {128, 262144}, embd.dims());
        assertEquals("[128, 262144]", embd.shape());
        assertEquals(128, embd.cols());
        assertEquals(262144, embd.rows());
        assertEquals(72, embd.rowBytes());
        assertEquals(18874368, embd.byteSize());
        assertEquals(gemma.dataOffset(), embd.offset());

        GgufTensor norm = gemma.tensor("blk.0.attn_norm.weight");
        assertEquals(GgmlType.F32, norm.type());
        assertArrayEquals(new long[] {128}, norm.dims());
        assertEquals(gemma.dataOffset() + 18874368, norm.offset());

        GgufTensor down = gemma.tensor("blk.0.ffn_down.weight");
        assertEquals(GgmlType.Q4_0, down.type());
        assertArrayEquals(new long[] {512, 128}, down.dims());
        assertEquals(gemma.dataOffset() + 18996224, down.offset());

        List<String> names = new ArrayList<>(gemma.tensors().keySet());
        assertEquals("token_embd.weight", names.get(0));
        assertEquals("output_norm.weight", names.get(names.size() - 1));
    }

    @Test
    void mixedTensorTypes() {
        assertEquals(93, mixed.tensors().size());
        Map<String, GgmlType> expected = Map.of(
                "token_embd.weight", GgmlType.Q8_0,
                "blk.0.attn_q.weight", GgmlType.F16,
                "blk.0.ffn_gate.weight", GgmlType.Q4_0,
                "blk.0.ffn_up.weight", GgmlType.BF16,
                "blk.0.ffn_down.weight", GgmlType.F32,
                "blk.0.attn_norm.weight", GgmlType.F32);
        expected.forEach((name, type) -> assertEquals(type, mixed.tensor(name).type(), name));
        assertArrayEquals(new long[] {64, 262144}, mixed.tensor("token_embd.weight").dims());
        assertArrayEquals(new long[] {64, 256}, mixed.tensor("blk.0.ffn_up.weight").dims());
        assertEquals(mixed.dataOffset() + 17860608, mixed.tensor("blk.0.ffn_up.weight").offset());
        assertEquals(64L * 256 * 2, mixed.tensor("blk.0.ffn_up.weight").byteSize());
        assertEquals(68, mixed.tensor("token_embd.weight").rowBytes());
    }

    @Test
    void storiesTensorShapes() {
        GgufTensor embd = stories.tensor("token_embd.weight");
        assertEquals(GgmlType.F32, embd.type());
        assertArrayEquals(new long[] {64, 512}, embd.dims());
        assertEquals(14176, embd.offset());
        assertEquals(14176 + 131072, stories.tensor("output_norm.weight").offset());
        assertEquals(14176 + 1170944, stories.tensor("blk.4.ffn_norm.weight").offset());
        assertArrayEquals(new long[] {172, 64}, stories.tensor("blk.4.ffn_down.weight").dims());
        for (GgufTensor t : stories.tensors().values()) {
            assertEquals(GgmlType.F32, t.type(), t.name());
        }
    }

    @Test
    void tensorsAreAlignedZeroCopySlicesInsideTheFile() {
        for (GgufFile f : new GgufFile[] {stories, gemma, mixed}) {
            long base = f.segment().address();
            assertEquals(0, f.dataOffset() % f.alignment());
            List<GgufTensor> byOffset = new ArrayList<>(f.tensors().values());
            byOffset.sort(Comparator.comparingLong(GgufTensor::offset));
            long prevEnd = f.dataOffset();
            for (GgufTensor t : byOffset) {
                String what = f.path().getFileName() + " " + t;
                assertEquals(0, t.offset() % f.alignment(), what);
                assertEquals(0, (t.offset() - f.dataOffset()) % f.alignment(), what);
                // A slice of the mapping, at the tensor's absolute offset, not a copy.
                assertEquals(base + t.offset(), t.data().address(), what);
                assertTrue(t.data().isMapped(), what);
                assertTrue(t.data().isReadOnly(), what);
                assertEquals(t.type().byteSize(t.elements()), t.byteSize(), what);
                assertTrue(t.offset() >= prevEnd, what + " overlaps the previous tensor");
                prevEnd = t.offset() + t.byteSize();
            }
            assertTrue(prevEnd <= f.fileSize(), f.path() + ": last tensor ends at " + prevEnd);
        }
        // The generator writes no trailing padding: the last tensor ends exactly at the end of the file.
        GgufTensor last = gemma.tensor("output_norm.weight");
        assertEquals(gemma.fileSize(), last.offset() + last.byteSize());
        GgufTensor lastStories = stories.tensor("blk.4.ffn_norm.weight");
        assertEquals(stories.fileSize(), lastStories.offset() + lastStories.byteSize());
    }

    @Test
    void tensorBytesMatchAnIndependentRead() throws IOException {
        try (FileChannel ch = FileChannel.open(stories.path())) {
            for (String name : new String[] {"token_embd.weight", "output_norm.weight", "blk.4.ffn_norm.weight"}) {
                GgufTensor t = stories.tensor(name);
                ByteBuffer buf = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(buf, t.offset());
                buf.flip();
                assertArrayEquals(buf.array(), t.data().toArray(ValueLayout.JAVA_BYTE), name);
                float[] row = new float[t.cols()];
                Codecs.dequantizeRow(t.type(), t.data(), 0, row, 0, row.length);
                for (int i = 0; i < row.length; i++) {
                    assertEquals(buf.getFloat(4 * i), row[i], name + "[" + i + "]");
                }
            }
        }
        // Last row of the Q4_0 embedding: every value is a multiple of its block's fp16 scale within [-8d, 7d].
        GgufTensor embd = gemma.tensor("token_embd.weight");
        long rowBase = (embd.rows() - 1L) * embd.rowBytes();
        float[] row = new float[embd.cols()];
        Codecs.dequantizeRow(GgmlType.Q4_0, embd.data(), rowBase, row, 0, row.length);
        for (int b = 0; b < row.length / 32; b++) {
            float d = Codecs.f16ToF32(embd.data().get(Codecs.LE_SHORT, rowBase + 18L * b));
            for (int j = 0; j < 32; j++) {
                float q = row[32 * b + j] / d + 8;
                assertEquals(Math.rint(q), q, 1e-4, "block " + b + " element " + j);
                assertTrue(q >= 0 && q <= 15);
                assertEquals(row[32 * b + j], Codecs.element(GgmlType.Q4_0, embd.data(), rowBase, 32 * b + j));
            }
        }
    }

    @Test
    void closeReleasesTheMapping() throws IOException {
        GgufTensor t;
        try (GgufFile f = GgufFile.open(SharedFiles.model("stories260K.gguf"))) {
            t = f.tensor("output_norm.weight");
            assertTrue(Float.isFinite(t.data().get(Codecs.LE_FLOAT, 0)));
        }
        assertThrows(IllegalStateException.class, () -> t.data().get(Codecs.LE_FLOAT, 0));
    }

    static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
        }
    }
}
