package dev.edgellm.core.model;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufValueType;
import dev.edgellm.core.testing.GgufWriter;
import dev.edgellm.core.testing.SharedFiles;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile model files past the GGUF parser: metadata that parses but lies (sizes zero, negative,
 * enormous; the wrong type), vocabulary arrays of the wrong length, token types out of range,
 * tensor shapes that disagree with the config. Each goes through {@link ModelConfig#fromGguf},
 * {@link Tokenizer#fromGguf} and {@link LanguageModel#load} and must either load or fail with a
 * {@link GgufFormatException} naming what is wrong: never another exception, an
 * OutOfMemoryError or a hang. Copies of the shared stories260K live in a temporary directory.
 */
class ModelLoadFuzzTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private static final List<String> U32_KEYS = List.of("llama.context_length", "llama.embedding_length", "llama.feed_forward_length",
            "llama.attention.head_count", "llama.attention.head_count_kv", "llama.block_count", "llama.rope.dimension_count",
            "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id");
    private static final long[] NASTY = {0, 1, 2, 3, 7, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 0x4000_0000L, 65536, 1 << 24};

    @TempDir
    static Path dir;
    private static byte[] stories;
    private static int fileNo;

    @BeforeAll
    static void load() throws IOException {
        stories = Files.readAllBytes(SharedFiles.model("stories260K.gguf"));
    }

    /** Offset of the 4-byte value type that follows metadata key {@code key}. */
    private static int typeAt(byte[] b, String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] needle = GgufWriter.concat(GgufWriter.le(k.length, 8), k);
        int i = indexOf(b, needle);
        assertTrue(i >= 0, key);
        return i + needle.length;
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
        return -1;
    }

    /**
     * Loads {@code bytes} through config, tokenizer and model (scalar backend), and on success
     * tokenizes and runs one token. Returns null on success, the GgufFormatException otherwise;
     * any other outcome fails the test.
     */
    private static GgufFormatException attempt(byte[] bytes, String what) throws IOException {
        Path p = dir.resolve("fuzz-" + (fileNo++) + ".gguf");
        Files.write(p, bytes);
        Throwable t = assertTimeoutPreemptively(LIMIT, () -> {
            try (GgufFile f = GgufFile.open(p)) {
                ModelConfig.fromGguf(f);
                Tokenizer.fromGguf(f.metadata());
            } catch (Throwable e) {
                return e;
            }
            try (ScalarBackend backend = new ScalarBackend(1); LanguageModel m = LanguageModel.load(p, backend);
                 Session s = m.newSession(8, 4)) {
                int[] ids = m.tokenizer().encode("Once upon", true, false);
                s.ingest(ids, 0, Math.min(ids.length, Math.min(4, s.contextLength())), null);
                return null;
            } catch (Throwable e) {
                return e;
            }
        }, () -> what + " did not finish in " + LIMIT);
        if (t == null) {
            return null;
        }
        if (t instanceof GgufFormatException g) {
            assertTrue(g.getMessage() != null && g.getMessage().length() > 20, what + ": a message that says what is wrong: " + g.getMessage());
            return g;
        }
        throw new AssertionError(what + ": expected a GgufFormatException or a loaded model, got " + t, t);
    }

    private static void expectFailure(byte[] bytes, String what, String... parts) throws IOException {
        GgufFormatException e = attempt(bytes, what);
        if (e == null) {
            fail(what + ": loaded, but should have been refused");
        }
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), what + ": message lacks '" + part + "': " + e.getMessage());
        }
    }

    @Test
    void everyHyperParameterAtEveryNastyValue() throws IOException {
        for (String key : U32_KEYS) {
            int at = typeAt(stories, key) + 4;
            for (long v : NASTY) {
                byte[] b = stories.clone();
                GgufWriter.patch(b, at, v, 4);
                attempt(b, key + " = " + v);
            }
        }
    }

    @Test
    void hugeLayerCountsAndWidthsAreRefusedWithoutAllocating() throws IOException {
        byte[] b = stories.clone();
        GgufWriter.patch(b, typeAt(b, "llama.block_count") + 4, 0x7FFF_FFFFL, 4);
        expectFailure(b, "block_count 2^31-1", "llama.block_count");
        b = stories.clone();
        GgufWriter.patch(b, typeAt(b, "llama.embedding_length") + 4, 0x4000_0000L, 4);
        expectFailure(b, "embedding_length 2^30", "token_embd.weight", "1073741824");
        b = stories.clone();
        GgufWriter.patch(b, typeAt(b, "llama.attention.head_count") + 4, 0, 4);
        expectFailure(b, "head_count 0", "llama.attention.head_count");
    }

    @Test
    void wrongValueTypes() throws IOException {
        for (String key : U32_KEYS) {
            byte[] b = stories.clone();
            GgufWriter.patch(b, typeAt(b, key), GgufValueType.FLOAT32.id(), 4); // same 4 bytes, now a float
            attempt(b, key + " as f32");
        }
        byte[] b = stories.clone();
        GgufWriter.patch(b, typeAt(b, "llama.attention.layer_norm_rms_epsilon"), GgufValueType.UINT32.id(), 4);
        attempt(b, "eps as u32");
        b = stories.clone();
        GgufWriter.patch(b, typeAt(b, "llama.embedding_length"), GgufValueType.FLOAT32.id(), 4);
        expectFailure(b, "embedding_length as f32", "llama.embedding_length", "expected an integer");
    }

    @Test
    void vocabularyArraysOfTheWrongLength() throws IOException {
        // shrink the scores array by one element: its count and its bytes
        String key = "tokenizer.ggml.scores";
        int type = typeAt(stories, key);
        int count = type + 4 + 4;
        byte[] b = GgufWriter.concat(java.util.Arrays.copyOf(stories, count), GgufWriter.le(511, 8),
                java.util.Arrays.copyOfRange(stories, count + 8 + 4, stories.length));
        // the data offsets are relative to an aligned data section, which moved by 4 bytes: keep the layout
        attempt(b, "scores with 511 entries");
        byte[] types = stories.clone();
        int tcount = typeAt(types, "tokenizer.ggml.token_type") + 8;
        GgufWriter.patch(types, tcount, 256, 8); // fewer types than tokens; the rest reads as the next key
        attempt(types, "token_type count 256");
    }

    @Test
    void tokenTypesOutOfRange() throws IOException {
        int first = typeAt(stories, "tokenizer.ggml.token_type") + 4 + 4 + 8;
        Random rnd = new Random(3);
        for (int iter = 0; iter < 40; iter++) {
            byte[] b = stories.clone();
            for (int k = 0; k < 8; k++) {
                int i = rnd.nextInt(512);
                int v = switch (rnd.nextInt(4)) {
                    case 0 -> -1;
                    case 1 -> 7 + rnd.nextInt(100);
                    case 2 -> Integer.MIN_VALUE;
                    default -> rnd.nextInt();
                };
                GgufWriter.patch(b, first + 4 * i, v, 4);
            }
            attempt(b, "token types out of range, iteration " + iter);
        }
    }

    @Test
    void tensorShapesThatDisagreeWithTheConfig() throws IOException {
        for (String tensor : List.of("token_embd.weight", "output.weight", "blk.0.attn_k.weight", "blk.4.ffn_down.weight", "output_norm.weight")) {
            byte[] name = tensor.getBytes(StandardCharsets.US_ASCII);
            int at = indexOf(stories, GgufWriter.concat(GgufWriter.le(name.length, 8), name)) + 8 + name.length; // n_dims, then dims
            byte[] b = stories.clone();
            long d0 = GgufWriter.leRead(b, at + 4, 8);
            GgufWriter.patch(b, at + 4, d0 / 2, 8); // half the row length: the data still fits the file
            expectFailure(b, tensor + " with half its columns", tensor);
        }
    }

    @Test
    void randomMutationsOfTheMetadataValues() throws IOException {
        Random rnd = new Random(20261202);
        int[] offsets = U32_KEYS.stream().mapToInt(k -> typeAt(stories, k) + 4).toArray();
        int refused = 0;
        for (int iter = 0; iter < 150; iter++) {
            byte[] b = stories.clone();
            int n = 1 + rnd.nextInt(3);
            for (int k = 0; k < n; k++) {
                int at = offsets[rnd.nextInt(offsets.length)];
                long v = rnd.nextBoolean() ? NASTY[rnd.nextInt(NASTY.length)] : rnd.nextInt(4096);
                GgufWriter.patch(b, at, v, 4);
            }
            if (attempt(b, "iteration " + iter) != null) {
                refused++;
            }
        }
        assertTrue(refused > 30, "only " + refused + " refused");
    }
}
