package dev.edgellm.core.gguf;

import static dev.edgellm.core.testing.GgufWriter.Value.array;
import static dev.edgellm.core.testing.GgufWriter.Value.arrayRaw;
import static dev.edgellm.core.testing.GgufWriter.Value.bool;
import static dev.edgellm.core.testing.GgufWriter.Value.f32;
import static dev.edgellm.core.testing.GgufWriter.Value.f64;
import static dev.edgellm.core.testing.GgufWriter.Value.i16;
import static dev.edgellm.core.testing.GgufWriter.Value.i32;
import static dev.edgellm.core.testing.GgufWriter.Value.i64;
import static dev.edgellm.core.testing.GgufWriter.Value.i8;
import static dev.edgellm.core.testing.GgufWriter.Value.raw;
import static dev.edgellm.core.testing.GgufWriter.Value.str;
import static dev.edgellm.core.testing.GgufWriter.Value.strBytes;
import static dev.edgellm.core.testing.GgufWriter.Value.strings;
import static dev.edgellm.core.testing.GgufWriter.Value.u16;
import static dev.edgellm.core.testing.GgufWriter.Value.u32;
import static dev.edgellm.core.testing.GgufWriter.Value.u64;
import static dev.edgellm.core.testing.GgufWriter.Value.u8;
import static dev.edgellm.core.testing.GgufWriter.concat;
import static dev.edgellm.core.testing.GgufWriter.le;
import static dev.edgellm.core.testing.GgufWriter.patch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.edgellm.core.testing.GgufWriter;
import dev.edgellm.core.testing.GgufWriter.Value;
import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Corrupt and hostile GGUF files must fail with a {@link GgufFormatException} whose message names
 * the key or tensor and the byte offset: never another exception, an OutOfMemoryError or a hang.
 * Shared files are only read; every corrupted copy lives in a temporary directory.
 */
class GgufCorruptionTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);
    private static final String U64_MAX = "18446744073709551615";

    @TempDir
    static Path dir;

    private static byte[] stories;
    /** Byte offset of the first byte after the last tensor info of stories260K.gguf. */
    private static final int STORIES_HEADER_END = 14152;
    private static int fileNo;

    @BeforeAll
    static void load() throws IOException {
        stories = Files.readAllBytes(SharedFiles.model("stories260K.gguf"));
    }

    // ---------------------------------------------------------------- helpers

    private static Path write(byte[] bytes) throws IOException {
        Path p = dir.resolve("case-" + (fileNo++) + ".gguf");
        Files.write(p, bytes);
        return p;
    }

    /** Opens {@code file} expecting a GgufFormatException whose message contains every part (and the file name). */
    private static GgufFormatException fails(Path file, String... parts) {
        Throwable t = assertTimeoutPreemptively(LIMIT, () -> {
            try {
                GgufFile.open(file).close();
                return null;
            } catch (Throwable e) {
                return e;
            }
        }, () -> "opening " + file + " did not finish in " + LIMIT);
        if (t == null) {
            fail("expected a GgufFormatException, but " + file + " opened fine");
        }
        if (!(t instanceof GgufFormatException g)) {
            throw new AssertionError("expected a GgufFormatException, got " + t, t);
        }
        String m = g.getMessage();
        assertTrue(m.contains(file.getFileName().toString()), "message does not name the file: " + m);
        for (String p : parts) {
            assertTrue(m.contains(p), "message lacks '" + p + "': " + m);
        }
        return g;
    }

    private static GgufFormatException fails(byte[] bytes, String... parts) throws IOException {
        return fails(write(bytes), parts);
    }

    private static GgufFormatException fails(GgufWriter w, String... parts) throws IOException {
        return fails(w.toBytes(), parts);
    }

    private static GgufWriter one(Value v) {
        return new GgufWriter().kv("k", v);
    }

    private static GgufWriter tensor(long[] dims, GgmlType type) {
        return new GgufWriter().tensorInfo("t", type.id(), dims, 0);
    }

    // ---------------------------------------------------------------- too short, magic, version

    @Test
    void emptyFile() throws IOException {
        fails(new byte[0], "0 bytes");
    }

    @Test
    void threeByteFile() throws IOException {
        fails(new byte[] {'G', 'G', 'U'}, "3 bytes");
    }

    @Test
    void headerCutShort() throws IOException {
        byte[] h = new GgufWriter().kv("k", u8(1)).toBytes();
        for (int cut = 4; cut < 24; cut++) {
            fails(Arrays.copyOf(h, cut), "truncated", "offset " + (cut < 8 ? 4 : cut < 16 ? 8 : 16));
        }
    }

    @Test
    void badMagic() throws IOException {
        byte[] b = stories.clone();
        b[3] = 'G';
        fails(b, "bad magic", "offset 0");
        fails(new byte[24], "bad magic", "offset 0");
        fails(concat("FUGG".getBytes(java.nio.charset.StandardCharsets.US_ASCII), new byte[20]), "bad magic", "0x47475546");
        fails(new byte[] {'G', 'G', 'U', 'G'}, "bad magic", "offset 0");
    }

    @Test
    void versions() throws IOException {
        fails(new GgufWriter().version(1), "version 1", "offset 4");
        fails(new GgufWriter().version(99), "version 99", "offset 4");
        fails(new GgufWriter().version(0), "version 0", "offset 4");
        fails(new GgufWriter().version(-1), "version 4294967295", "offset 4");
        fails(new GgufWriter().version(Integer.reverseBytes(3)), "big-endian", "offset 4");
        fails(new GgufWriter().version(Integer.reverseBytes(2)), "big-endian", "offset 4");
        byte[] b = stories.clone();
        patch(b, 4, 99, 4);
        fails(b, "version 99", "offset 4");
    }

    // ---------------------------------------------------------------- counts

    @Test
    void hugeCounts() throws IOException {
        fails(new GgufWriter().tensorCount(1L << 62), "tensor count 4611686018427387904", "offset 8");
        fails(new GgufWriter().tensorCount(-1L), "tensor count " + U64_MAX, "offset 8");
        fails(new GgufWriter().kvCount(-1L), "metadata count " + U64_MAX, "offset 16");
        fails(new GgufWriter().kvCount(1L << 40), "metadata count 1099511627776", "offset 16");
        byte[] b = stories.clone();
        patch(b, 8, 1L << 62, 8);
        fails(b, "tensor count 4611686018427387904", "offset 8");
        b = stories.clone();
        patch(b, 16, Long.MAX_VALUE, 8);
        fails(b, "metadata count 9223372036854775807", "offset 16");
    }

    @Test
    void countsLargerThanTheContent() throws IOException {
        // Plausible counts, more entries than the file holds.
        // (Counts that cannot fit at all are refused up front, see hugeCounts; these pass that check.)
        GgufWriter w = new GgufWriter().kv("k", str("x".repeat(50))).kvCount(2);
        fails(w, "truncated", "metadata key #1", "offset " + w.toBytes().length);
        fails(new GgufWriter().tensorInfo("t", 0, new long[] {1}, 0).tensorCount(2), "truncated", "offset");
        byte[] b = stories.clone();
        patch(b, 8, 49, 8);
        // The 49th info would be read from the zero padding before the data.
        fails(b, "empty tensor name #48", "offset " + STORIES_HEADER_END);
        fails(new GgufWriter().tensorInfo("", 0, new long[] {1}, 0), "empty tensor name #0", "offset 24");
    }

    // ---------------------------------------------------------------- strings

    @Test
    void hugeStringLengths() throws IOException {
        fails(concat(le(GgufFile.MAGIC, 4), le(3, 4), le(0, 8), le(1, 8), le(-1L, 8), new byte[16]),
                "string length " + U64_MAX, "metadata key #0", "offset 24");
        fails(one(raw(GgufValueType.STRING.id(), concat(le(-1L, 8), new byte[4]))), "string length " + U64_MAX, "'k'", "offset 37");
        fails(one(raw(GgufValueType.STRING.id(), concat(le(1L << 40, 8), new byte[4]))), "string length 1099511627776", "'k'", "offset 37");
        fails(one(raw(GgufValueType.STRING.id(), le(5, 8))), "string length 5", "'k'", "offset 37");
        // ["a", "bc"] cut one byte short: header 24, key 9, type 4, array header 12, "a" 9, "bc" 10.
        byte[] arr = one(strings("a", "bc")).toBytes();
        assertEquals(24 + 9 + 4 + 12 + 9 + 10, arr.length);
        fails(Arrays.copyOf(arr, arr.length - 1), "string length 2", "element 1 of 'k'", "offset 58", "truncated");
        GgufWriter w = new GgufWriter().tensorRaw(new byte[0], 0, new long[] {1}, 0L, null);
        byte[] t = w.toBytes();
        patch(t, 24, -1L, 8);
        fails(t, "string length " + U64_MAX, "tensor name #0", "offset 24");
        // stories: the 3rd token's length
        byte[] b = stories.clone();
        int tok2 = 24 + 8 + "tokenizer.ggml.tokens".length() + 4 + 4 + 8 + (8 + 5) + (8 + 3);
        assertEquals(4, GgufWriter.leRead(b, tok2, 8)); // "</s>"
        patch(b, tok2, -1L, 8);
        fails(b, "string length " + U64_MAX, "element 2 of 'tokenizer.ggml.tokens'", "offset " + tok2);
    }

    @Test
    void emptyKey() throws IOException {
        fails(new GgufWriter().kv("", u8(1)), "empty metadata key #0", "offset 24");
    }

    @Test
    void nonUtf8() throws IOException {
        byte[] bad = {(byte) 0xC3, 0x28};
        fails(new GgufWriter().kvRaw(bad, u8(1)), "metadata key #0", "UTF-8", "offset 32");
        fails(new GgufWriter().kv("ok", u8(1)).kvRaw(new byte[] {'a', (byte) 0xFF}, u8(1)), "metadata key #1", "UTF-8", "offset 47");
        fails(one(strBytes(bad)), "'k'", "UTF-8", "offset 45");
        fails(one(strBytes(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})), "'k'", "UTF-8"); // surrogate
        fails(one(strBytes(new byte[] {(byte) 0xC0, (byte) 0x80})), "'k'", "UTF-8"); // overlong NUL
        fails(one(strBytes(new byte[] {(byte) 0xE2, (byte) 0x9C})), "'k'", "UTF-8"); // cut sequence
        fails(one(array(GgufValueType.STRING, str("ok"), strBytes(bad))), "element 1 of 'k'", "UTF-8", "offset");
        fails(new GgufWriter().tensorRaw(bad, 0, new long[] {1}, 0L, new byte[4]), "tensor name #0", "UTF-8", "offset 32");
    }

    // ---------------------------------------------------------------- value types

    @ParameterizedTest
    @ValueSource(ints = {13, 14, 255, 0x7FFFFFFF, -1})
    void unknownValueType(int id) throws IOException {
        fails(one(raw(id, new byte[8])), "'k'", "unknown value type " + Integer.toUnsignedString(id), "offset 33");
    }

    @ParameterizedTest
    @ValueSource(ints = {13, 100, -1})
    void unknownArrayElementType(int id) throws IOException {
        fails(one(arrayRaw(id, 1, new byte[8])), "'k'", "unknown type " + Integer.toUnsignedString(id), "offset 37");
        fails(one(array(GgufValueType.ARRAY, arrayRaw(id, 0, new byte[0]))), "'k[0]'", "unknown type", "offset 49");
    }

    @Test
    void invalidBool() throws IOException {
        fails(one(raw(GgufValueType.BOOL.id(), new byte[] {2})), "'k'", "bool value 2", "offset 37");
        fails(one(raw(GgufValueType.BOOL.id(), new byte[] {(byte) 0xFF})), "'k'", "bool value 255", "offset 37");
        fails(one(arrayRaw(GgufValueType.BOOL.id(), 3, new byte[] {1, 0, 7})), "'k'", "bool element 2", "offset 51");
    }

    @Test
    void truncatedScalars() throws IOException {
        Value[] values = {u8(1), i8(1), u16(1), i16(1), u32(1), i32(1), u64(1), i64(1), f32(1), f64(1), bool(true), str("abc")};
        for (Value v : values) {
            byte[] full = one(v).toBytes();
            fails(Arrays.copyOf(full, full.length - 1), "truncated", "'k'", "offset");
            fails(Arrays.copyOf(full, 37), "'k'", "offset 37");
        }
        GgufWriter w = new GgufWriter().kv("pad", str("x".repeat(60))).kv("k", u8(1));
        byte[] b = w.toBytes();
        fails(Arrays.copyOf(b, (int) w.offset("kv:k:type") + 2), "truncated", "'k'", "offset " + w.offset("kv:k:type"));
    }

    // ---------------------------------------------------------------- arrays

    @Test
    void hugeArrayCounts() throws IOException {
        for (GgufValueType t : GgufValueType.values()) {
            fails(one(arrayRaw(t.id(), -1L, new byte[16])), "'k'", "array count " + U64_MAX, "offset 41");
            fails(one(arrayRaw(t.id(), 1L << 40, new byte[16])), "'k'", "array count 1099511627776", "offset 41");
            fails(one(arrayRaw(t.id(), 0x7FFF_FFFFL, new byte[16])), "'k'", "array count 2147483647", "offset 41");
            fails(one(arrayRaw(t.id(), 17, new byte[16])), "'k'", "array count 17", "offset 41");
        }
        byte[] b = stories.clone();
        int countAt = 24 + 8 + "tokenizer.ggml.tokens".length() + 4 + 4;
        assertEquals(512, GgufWriter.leRead(b, countAt, 8));
        patch(b, countAt, -1L, 8);
        fails(b, "'tokenizer.ggml.tokens'", "array count " + U64_MAX, "offset " + countAt);
    }

    @Test
    void arraysNestedTooDeep() throws IOException {
        Value v = array(GgufValueType.UINT8, u8(1));
        for (int i = 1; i < 9; i++) {
            v = array(GgufValueType.ARRAY, v);
        }
        fails(one(v), "'k", "deeper than 8", "offset");
        // 100000 levels of [array of 1 array ...] must not overflow the stack.
        byte[] level = concat(le(GgufValueType.ARRAY.id(), 4), le(1, 8));
        byte[] deep = new byte[level.length * 100000];
        for (int i = 0; i < 100000; i++) {
            System.arraycopy(level, 0, deep, i * level.length, level.length);
        }
        fails(one(raw(GgufValueType.ARRAY.id(), deep)), "'k", "deeper than 8", "offset " + (37 + 8 * 12));
    }

    // ---------------------------------------------------------------- tensor infos

    @Test
    void dimensionCounts() throws IOException {
        GgufWriter w = tensor(new long[] {}, GgmlType.F32);
        fails(w, "'t'", "0 dimensions", "offset " + (24 + 8 + 1));
        fails(tensor(new long[] {1, 1, 1, 1, 1}, GgmlType.F32), "'t'", "5 dimensions", "offset 33");
        byte[] b = tensor(new long[] {1}, GgmlType.F32).toBytes();
        patch(b, 33, -1, 4);
        fails(b, "'t'", "4294967295 dimensions", "offset 33");
    }

    @Test
    void badDimensions() throws IOException {
        GgufWriter w = tensor(new long[] {0}, GgmlType.F32);
        w.toBytes();
        fails(w, "'t'", "dimension 0 is 0", "offset " + w.offset("tensor:t:dim0"));
        w = tensor(new long[] {4, Long.MIN_VALUE}, GgmlType.F32);
        w.toBytes();
        fails(w, "'t'", "dimension 1 is 9223372036854775808", "offset " + w.offset("tensor:t:dim1"));
        fails(tensor(new long[] {4, -1L}, GgmlType.F32), "'t'", "dimension 1 is " + U64_MAX, "offset");
        fails(tensor(new long[] {1L << 31}, GgmlType.F32), "'t'", "dimension 0 is 2147483648", "offset");
        fails(tensor(new long[] {2, 3, 0}, GgmlType.F32), "'t'", "dimension 2 is 0", "offset");
    }

    @Test
    void elementCountOverflow() throws IOException {
        long m = Integer.MAX_VALUE;
        fails(tensor(new long[] {m, m, m, m}, GgmlType.F32), "'t'", "element count", "offset");
        fails(tensor(new long[] {1L << 30, 1L << 30}, GgmlType.F32), "'t'", "element count", "offset");
        fails(tensor(new long[] {1L << 30, 1L << 30, 1L << 30}, GgmlType.Q4_0), "'t'", "element count", "offset");
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 5, 31, 33, 36, 40, 64, 1000, -1})
    void unknownGgmlType(int id) throws IOException {
        GgufWriter w = new GgufWriter().tensorInfo("t", id, new long[] {32}, 0);
        w.toBytes();
        fails(w, "'t'", "unknown ggml type " + Integer.toUnsignedString(id), "offset " + w.offset("tensor:t:type"));
    }

    @Test
    void rowLengthNotAMultipleOfTheBlock() throws IOException {
        fails(tensor(new long[] {33, 2}, GgmlType.Q4_0), "'t'", "row length 33", "Q4_0", "offset");
        fails(tensor(new long[] {16}, GgmlType.Q8_0), "'t'", "row length 16", "Q8_0", "offset");
        fails(tensor(new long[] {128}, GgmlType.Q6_K), "'t'", "row length 128", "Q6_K", "offset");
    }

    @Test
    void misalignedTensorOffset() throws IOException {
        GgufWriter w = new GgufWriter()
                .tensor("a", GgmlType.F32, new long[] {8}, new byte[32])
                .tensorInfo("t", GgmlType.F32.id(), new long[] {1}, 16);
        w.toBytes();
        fails(w, "'t'", "16", "alignment 32", "offset " + w.offset("tensor:t"));
        w = new GgufWriter().kv("general.alignment", u32(64))
                .tensor("a", GgmlType.F32, new long[] {32}, new byte[128])
                .tensorInfo("t", GgmlType.F32.id(), new long[] {1}, 32);
        fails(w, "'t'", "alignment 64", "offset");
    }

    @ParameterizedTest
    @ValueSource(longs = {64, 1L << 20, 1L << 40, Long.MAX_VALUE & ~31L, Long.MIN_VALUE, -32L})
    void tensorOffsetPastTheEnd(long rel) throws IOException {
        GgufWriter w = new GgufWriter()
                .tensor("a", GgmlType.F32, new long[] {8}, new byte[32])
                .tensorInfo("t", GgmlType.F32.id(), new long[] {1}, rel);
        w.toBytes();
        GgufFormatException e = fails(w, "'t'", "runs past the end of the file", "offset " + w.offset("tensor:t"));
        assertTrue(e.getMessage().contains(Long.toUnsignedString(rel)), e.getMessage());
        assertFalse(java.util.regex.Pattern.compile("(?<!\\w)-\\d").matcher(e.getMessage()).find(), "negative number in: " + e.getMessage());
    }

    @Test
    void duplicates() throws IOException {
        fails(new GgufWriter().kv("k", u8(1)).kv("k", u8(2)), "duplicate metadata key 'k'", "offset 38");
        GgufWriter w = new GgufWriter()
                .tensor("t", GgmlType.F32, new long[] {8}, new byte[32])
                .tensor("t", GgmlType.F32, new long[] {8}, new byte[32]);
        long second = 24 + (8 + 1 + 4 + 8 + 4 + 8);
        fails(w, "duplicate tensor name 't'", "offset " + second);
    }

    // ---------------------------------------------------------------- general.alignment

    @Test
    void badAlignment() throws IOException {
        for (long a : new long[] {0, 3, 48, 33, 1L << 21, 0xFFFF_FFFFL}) {
            fails(new GgufWriter().layoutAlignment(32).kv("general.alignment", u32(a)).tensor("t", GgmlType.F32, new long[] {1}, new byte[4]),
                    "'general.alignment'", "offset 24", Long.toString(a));
        }
        Value[] wrongTypes = {str("32"), f32(32f), f64(32.0), bool(true), strings("32"), i32(-32), i64(-32), u64(Long.MIN_VALUE + 32)};
        for (Value v : wrongTypes) {
            fails(new GgufWriter().layoutAlignment(32).kv("general.alignment", v), "'general.alignment'", "offset 24");
        }
        // Any integer type with a valid power of two is taken.
        try (GgufFile f = GgufFile.open(write(new GgufWriter().layoutAlignment(16).kv("general.alignment", u8(16))
                .tensor("t", GgmlType.F32, new long[] {1}, new byte[4]).toBytes()))) {
            assertEquals(16, f.alignment());
        }
    }

    // ---------------------------------------------------------------- truncation of real files

    @Test
    void storiesTruncatedInTheHeader() throws IOException {
        for (int k = 0; k < 64; k++) {
            int cut = STORIES_HEADER_END * k / 64;
            byte[] b = Arrays.copyOf(stories, cut);
            if (cut < 4) {
                fails(b, cut + " bytes");
            } else {
                fails(b, "truncated", "offset");
            }
        }
        // Every byte of the last two tensor infos, and the gap before the data. The last info,
        // "blk.4.ffn_norm.weight", takes 8 + 21 + 4 + 8 + 4 + 8 = 53 bytes; the one before, "blk.4.ffn_up.weight", 59.
        int last = STORIES_HEADER_END - 53;
        int previous = last - 59;
        for (int cut = previous; cut < STORIES_HEADER_END + 32; cut++) {
            if (cut < previous + 8 + 19) {
                fails(Arrays.copyOf(stories, cut), "truncated", "tensor name #46", "offset " + previous);
            } else if (cut < last) {
                fails(Arrays.copyOf(stories, cut), "truncated", "offset", "'blk.4.ffn_up.weight'");
            } else if (cut < last + 8 + 21) {
                fails(Arrays.copyOf(stories, cut), "truncated", "tensor name #47", "offset " + last);
            } else if (cut < STORIES_HEADER_END) {
                fails(Arrays.copyOf(stories, cut), "truncated", "offset", "'blk.4.ffn_norm.weight'");
            } else {
                fails(Arrays.copyOf(stories, cut), "'token_embd.weight'", "runs past the end of the file");
            }
        }
    }

    @Test
    void storiesTruncatedInTheData() throws IOException {
        List<GgufTensor> tensors;
        long[] offsets;
        try (GgufFile f = GgufFile.open(SharedFiles.model("stories260K.gguf"))) {
            tensors = new ArrayList<>(f.tensors().values());
        }
        offsets = tensors.stream().mapToLong(t -> t.offset() + t.byteSize()).toArray();
        Random rnd = new Random(7);
        List<Integer> cuts = new ArrayList<>(List.of(stories.length - 1, STORIES_HEADER_END + 32, 14176 + 131072, 14176 + 131073));
        for (int i = 0; i < 40; i++) {
            cuts.add(STORIES_HEADER_END + rnd.nextInt(stories.length - STORIES_HEADER_END));
        }
        for (int cut : cuts) {
            String expected = null;
            for (int i = 0; i < tensors.size(); i++) {
                if (offsets[i] > cut) {
                    expected = tensors.get(i).name();
                    break;
                }
            }
            GgufFormatException e = fails(Arrays.copyOf(stories, cut), "'" + expected + "'", "runs past the end of the file", "offset", Integer.toString(cut));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void gemmaTruncatedInTheData() throws IOException {
        Path src = SharedFiles.model("gemma3-tiny-q4_0.gguf");
        long size = Files.size(src);
        long[] cuts = {6517696 + 100, size - 1};
        String[] expected = {"token_embd.weight", "output_norm.weight"};
        for (int i = 0; i < cuts.length; i++) {
            Path p = dir.resolve("gemma-cut-" + i + ".gguf");
            copyPrefix(src, p, cuts[i]);
            fails(p, "'" + expected[i] + "'", "runs past the end of the file");
        }
    }

    @Test
    void mixedTruncatedInTheHeader() throws IOException {
        // The 262144-token vocabulary fills most of the 6.5 MB header: an early cut leaves too few bytes
        // for its count, a later one runs out inside an element.
        Path src = SharedFiles.model("gemma3-tiny-mixed.gguf");
        long[] cuts = {1_000_000, 3_000_001, 6_517_600};
        String[] expected = {"'tokenizer.ggml.tokens'", "element ", "tensor"};
        for (int i = 0; i < cuts.length; i++) {
            Path p = dir.resolve("mixed-cut-" + i + ".gguf");
            copyPrefix(src, p, cuts[i]);
            fails(p, "truncated", "offset", expected[i]);
        }
    }

    private static void copyPrefix(Path src, Path dst, long bytes) throws IOException {
        try (FileChannel in = FileChannel.open(src); FileChannel out = FileChannel.open(dst, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long done = 0;
            while (done < bytes) {
                done += in.transferTo(done, bytes - done, out);
            }
        }
    }

    // ---------------------------------------------------------------- files larger than 2 GiB (sparse)

    /** A sparse file of {@code size} bytes that starts with {@code head}. */
    private static Path sparse(byte[] head, long size) throws IOException {
        Path p = dir.resolve("sparse-" + (fileNo++) + ".gguf");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
            f.write(head);
        }
        return p;
    }

    private static final long BIG = 3L << 30;

    @Test
    void bigFileHugeString() throws IOException {
        // Longer than a Java array can be, yet shorter than the file.
        byte[] head = concat(le(GgufFile.MAGIC, 4), le(3, 4), le(0, 8), le(1, 8), le((1L << 31) + 100, 8));
        Path p = sparse(head, BIG);
        fails(p, "string length 2147483748", "metadata key #0", "offset 24");
        head = concat(one(raw(GgufValueType.STRING.id(), new byte[0])).toBytes(), le(BIG - 100, 8));
        fails(sparse(head, BIG), "'k'", "string length " + (BIG - 100), "offset 37");
    }

    @Test
    void bigFileHugeArrays() throws IOException {
        for (GgufValueType t : GgufValueType.values()) {
            long count = t == GgufValueType.ARRAY ? (BIG - 64) / 12 : Math.min(Integer.MAX_VALUE - 8, (BIG - 64) / t.minBytes());
            byte[] head = one(arrayRaw(t.id(), count, new byte[0])).toBytes();
            fails(sparse(head, BIG), "'k'", "array count " + count, "offset 41");
        }
    }

    @Test
    void bigFileHugeTensorAndKeyCounts() throws IOException {
        byte[] head = concat(le(GgufFile.MAGIC, 4), le(3, 4), le(BIG / 25, 8), le(0, 8));
        fails(sparse(head, BIG), "empty tensor name #0", "offset 24");
        head = concat(le(GgufFile.MAGIC, 4), le(3, 4), le(0, 8), le(BIG / 14, 8));
        fails(sparse(head, BIG), "empty metadata key #0", "offset 24");
    }

    // ---------------------------------------------------------------- random corruption

    @Test
    void randomByteFlipsInStoriesHeader() throws IOException {
        Path p = write(stories);
        Random rnd = new Random(20261122);
        int opened = 0;
        int refused = 0;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (int iter = 0; iter < 400; iter++) {
                int flips = 1 + rnd.nextInt(4);
                int[] at = new int[flips];
                for (int i = 0; i < flips; i++) {
                    // Half the flips land in the first 1 KiB, where the counts, keys and the token array header are.
                    at[i] = rnd.nextBoolean() ? rnd.nextInt(1024) : rnd.nextInt(STORIES_HEADER_END);
                    ch.write(ByteBuffer.wrap(new byte[] {(byte) rnd.nextInt(256)}), at[i]);
                }
                if (openOrFormatError(p, "iteration " + iter + " flips at " + Arrays.toString(at))) {
                    opened++;
                } else {
                    refused++;
                }
                for (int i = flips - 1; i >= 0; i--) {
                    ch.write(ByteBuffer.wrap(new byte[] {stories[at[i]]}), at[i]);
                }
            }
        }
        assertTrue(refused > 50, "only " + refused + " refused");
        assertTrue(opened > 0 || refused == 400);
    }

    @Test
    void randomByteFlipsInSyntheticFile() throws IOException {
        GgufWriter w = new GgufWriter()
                .kv("general.alignment", u32(32))
                .kv("s", str("hello"))
                .kv("nested", array(GgufValueType.ARRAY, strings("a", "bc"), strings(), array(GgufValueType.STRING, str("d"))))
                .kv("deep", array(GgufValueType.ARRAY, array(GgufValueType.ARRAY, array(GgufValueType.INT16, i16(-1), i16(2)))))
                .kv("bools", array(GgufValueType.BOOL, bool(true), bool(false)))
                .kv("f64s", array(GgufValueType.FLOAT64, f64(1), f64(2)))
                .kv("i8", i8(-3))
                .kv("i64", i64(-4))
                .tensor("a", GgmlType.Q4_0, new long[] {32, 2}, new byte[36])
                .tensor("b", GgmlType.Q8_0, new long[] {64}, new byte[68])
                .tensor("c", GgmlType.BF16, new long[] {2, 2, 2}, new byte[16]);
        byte[] good = w.toBytes();
        int headerEnd = (int) w.offset("header_end");
        Random rnd = new Random(1234);
        Path p = write(good);
        int refused = 0;
        for (int iter = 0; iter < 400; iter++) {
            byte[] b = good.clone();
            int flips = 1 + rnd.nextInt(3);
            for (int i = 0; i < flips; i++) {
                int at = rnd.nextInt(headerEnd);
                b[at] = switch (rnd.nextInt(4)) {
                    case 0 -> (byte) 0xFF;
                    case 1 -> (byte) 0x80;
                    case 2 -> (byte) (b[at] ^ (1 << rnd.nextInt(8)));
                    default -> (byte) rnd.nextInt(256);
                };
            }
            Files.write(p, b);
            if (!openOrFormatError(p, "iteration " + iter)) {
                refused++;
            }
        }
        assertTrue(refused > 100, "only " + refused + " refused");
    }

    /** True when {@code p} opens, false on a GgufFormatException; anything else fails the test. */
    private static boolean openOrFormatError(Path p, String what) {
        Throwable t = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            try (GgufFile f = GgufFile.open(p)) {
                f.tensors().values().forEach(x -> x.data().byteSize());
                return null;
            } catch (Throwable e) {
                return e;
            }
        }, () -> what + " did not finish in 5 s");
        if (t == null) {
            return true;
        }
        if (t instanceof GgufFormatException g) {
            assertTrue(g.getMessage().contains("offset") || g.getMessage().contains("bytes"), what + ": " + g.getMessage());
            return false;
        }
        throw new AssertionError(what + ": expected a GgufFormatException, got " + t, t);
    }
}
