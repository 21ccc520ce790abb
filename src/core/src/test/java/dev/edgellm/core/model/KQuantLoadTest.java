package dev.edgellm.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A K-quant file (llama-quantize's Q4_K_M of the shared Gemma 3 shape) loads, and the three ways
 * such a tensor can be broken are refused at load with the tensor's name and the reason: a row
 * length that is not a whole number of 256-weight super-blocks, data shorter than the shape needs
 * (at the end of the file, or running into the next tensor), and a non-finite block scale.
 */
class KQuantLoadTest {
    private static final ScalarBackend BACKEND = new ScalarBackend(1);

    @TempDir
    static Path dir;

    private static byte[] original;
    private static Map<String, GgufTensor> infos;

    @BeforeAll
    static void read() throws IOException {
        Path p = SharedFiles.model("gemma3-kq-q4_k_m.gguf");
        original = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            infos = Map.copyOf(f.tensors());
        }
    }

    @AfterAll
    static void close() {
        BACKEND.close();
    }

    private static Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** File offset of the tensor info of {@code name}: just after its name string. */
    private static int infoAfterName(byte[] file, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] withLength = ByteBuffer.allocate(8 + n.length).order(ByteOrder.LITTLE_ENDIAN).putLong(n.length).put(n).array();
        for (int i = 0; i + withLength.length <= file.length; i++) {
            if (Arrays.equals(file, i, i + withLength.length, withLength, 0, withLength.length)) {
                return i + withLength.length;
            }
        }
        throw new AssertionError("no tensor info for " + name);
    }

    private static void putShort(byte[] b, long at, int v) {
        b[(int) at] = (byte) v;
        b[(int) at + 1] = (byte) (v >> 8);
    }

    private static void putLong(byte[] b, int at, long v) {
        ByteBuffer.wrap(b, at, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
    }

    @Test
    void theQ4KmFileLoadsWithItsKQuantTensors() throws IOException {
        assertEquals(GgmlType.Q4_K, infos.get("blk.0.ffn_up.weight").type());
        assertEquals(GgmlType.Q6_K, infos.get("token_embd.weight").type());
        try (LanguageModel m = LanguageModel.load(SharedFiles.model("gemma3-kq-q4_k_m.gguf"), BACKEND)) {
            assertEquals(256, m.config().dim());
        }
    }

    @Test
    void aNonFiniteSuperBlockScaleIsRefusedNamingTensorBlockAndField() throws IOException {
        GgufTensor up = infos.get("blk.3.ffn_up.weight");
        // block 5: d = +inf
        byte[] b = original.clone();
        long at = up.offset() + 5L * GgmlType.Q4_K.bytesPerBlock();
        putShort(b, at, 0x7C00);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> LanguageModel.load(write("inf-d.gguf", b), BACKEND));
        assertTrue(e.getMessage().contains("'blk.3.ffn_up.weight'") && e.getMessage().contains("block 5")
                && e.getMessage().contains("scale d") && e.getMessage().contains("offset " + at), e.getMessage());
        // dmin NaN in the last block
        byte[] c = original.clone();
        long last = up.offset() + up.byteSize() - GgmlType.Q4_K.bytesPerBlock();
        putShort(c, last + 2, 0x7E00);
        e = assertThrows(GgufFormatException.class, () -> LanguageModel.load(write("nan-dmin.gguf", c), BACKEND));
        assertTrue(e.getMessage().contains("'blk.3.ffn_up.weight'") && e.getMessage().contains("dmin")
                && e.getMessage().contains("block " + (up.byteSize() / 144 - 1)), e.getMessage());
        // Q6_K keeps its d at the end of the block
        GgufTensor emb = infos.get("token_embd.weight");
        byte[] d = original.clone();
        putShort(d, emb.offset() + 7L * 210 + 208, 0xFC00);
        e = assertThrows(GgufFormatException.class, () -> LanguageModel.load(write("q6k-d.gguf", d), BACKEND));
        assertTrue(e.getMessage().contains("'token_embd.weight'") && e.getMessage().contains("Q6_K") && e.getMessage().contains("block 7"),
                e.getMessage());
    }

    @Test
    void aRowThatIsNotWholeSuperBlocksIsRefused() throws IOException {
        byte[] b = original.clone();
        int info = infoAfterName(b, "blk.2.attn_q.weight");     // n_dims u32, then dims [256, 256]
        putLong(b, info + 4, 128);
        putLong(b, info + 12, 512);
        Path p = write("row128.gguf", b);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("'blk.2.attn_q.weight'") && e.getMessage().contains("row length 128")
                && e.getMessage().contains("Q4_K block size 256"), e.getMessage());
    }

    @Test
    void dataShorterThanTheShapeIsRefused() throws IOException {
        // a super-block more than the data holds: the tensor runs into the next one
        byte[] b = original.clone();
        int info = infoAfterName(b, "blk.1.ffn_gate.weight");   // [256, 1024] Q4_K
        putLong(b, info + 12, 1025);
        Path p = write("overlap.gguf", b);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p));
        assertTrue(e.getMessage().contains("'blk.1.ffn_gate.weight'") && e.getMessage().contains("shorter than its shape needs"), e.getMessage());
        // the file cut inside the last K-quant tensor
        GgufTensor lastQ = infos.values().stream().filter(t -> t.type() == GgmlType.Q4_K)
                .max(java.util.Comparator.comparingLong(GgufTensor::offset)).orElseThrow();
        byte[] cut = Arrays.copyOf(original, (int) (lastQ.offset() + lastQ.byteSize() - 100));
        Path q = write("cut.gguf", cut);
        e = assertThrows(GgufFormatException.class, () -> GgufFile.open(q));
        assertTrue(e.getMessage().contains("runs past the end of the file"), e.getMessage());
    }
}
