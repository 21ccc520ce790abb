package dev.edgellm.core.gguf;

import static dev.edgellm.core.testing.GgufWriter.Value.array;
import static dev.edgellm.core.testing.GgufWriter.Value.bool;
import static dev.edgellm.core.testing.GgufWriter.Value.f32;
import static dev.edgellm.core.testing.GgufWriter.Value.f64;
import static dev.edgellm.core.testing.GgufWriter.Value.i16;
import static dev.edgellm.core.testing.GgufWriter.Value.i32;
import static dev.edgellm.core.testing.GgufWriter.Value.i64;
import static dev.edgellm.core.testing.GgufWriter.Value.i8;
import static dev.edgellm.core.testing.GgufWriter.Value.str;
import static dev.edgellm.core.testing.GgufWriter.Value.strings;
import static dev.edgellm.core.testing.GgufWriter.Value.u16;
import static dev.edgellm.core.testing.GgufWriter.Value.u32;
import static dev.edgellm.core.testing.GgufWriter.Value.u64;
import static dev.edgellm.core.testing.GgufWriter.Value.u8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.testing.DiskFull;
import dev.edgellm.core.testing.GgufWriter;
import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The production GGUF writer: a file read by {@link GgufFile} and written again is the same bytes
 * (llama.cpp's layout), and a write that fails leaves nothing behind.
 */
class GgufFileWriterTest {

    @TempDir
    Path dir;

    private static List<GgufFileWriter.TensorSpec> specs(GgufFile f) {
        List<GgufFileWriter.TensorSpec> s = new ArrayList<>();
        for (GgufTensor t : f.tensors().values()) {
            s.add(new GgufFileWriter.TensorSpec(t.name(), t.type(), t.dims()));
        }
        return s;
    }

    /** Copies {@code in} to {@code out} through the writer (tensors written in reverse order). */
    private static void copy(Path in, Path out, GgufFileWriter.SinkOpener opener) throws IOException {
        try (GgufFile f = GgufFile.open(in);
             GgufFileWriter w = GgufFileWriter.create(out, false, new ArrayList<>(f.metadata().entries()), specs(f), opener)) {
            List<GgufTensor> ts = new ArrayList<>(f.tensors().values());
            for (int i = ts.size() - 1; i >= 0; i--) {
                w.writeTensor(ts.get(i).name(), ts.get(i).data());
            }
            w.commit();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "gemma3-tiny-mixed.gguf", "llama-spm-vocab.gguf"})
    void sharedModelsCopyToTheSameBytes(String model) throws IOException {
        Path in = SharedFiles.model(model);
        Path out = dir.resolve("copy.gguf");
        copy(in, out, GgufFileWriter.FILE_CHANNEL);
        assertEquals(-1, Files.mismatch(in, out), model + " copied through GgufFileWriter differs");
    }

    @Test
    void everyValueTypeNestedArraysAndAlignment64CopyToTheSameBytes() throws IOException {
        byte[] tensor = new byte[18 * 4];
        for (int i = 0; i < tensor.length; i++) {
            tensor[i] = (byte) (i * 7);
        }
        GgufWriter w = new GgufWriter()
                .kv("general.alignment", u32(64))
                .kv("u8", u8(255)).kv("i8", i8(-128)).kv("u16", u16(65535)).kv("i16", i16(-2))
                .kv("u32", u32(0xFFFF_FFFFL)).kv("i32", i32(Integer.MIN_VALUE)).kv("u64", u64(-1L)).kv("i64", i64(Long.MIN_VALUE))
                .kv("f32", f32(Float.NaN)).kv("f64", f64(-1e300)).kv("bool", bool(true)).kv("str", str("héllo ✓ 𝄞"))
                .kv("a.u8", array(GgufValueType.UINT8, u8(0), u8(255)))
                .kv("a.i16", array(GgufValueType.INT16, i16(-32768), i16(7)))
                .kv("a.u32", array(GgufValueType.UINT32, u32(0xFFFF_FFFFL)))
                .kv("a.i64", array(GgufValueType.INT64, i64(Long.MAX_VALUE)))
                .kv("a.f32", array(GgufValueType.FLOAT32, f32(-0f), f32(1.5f)))
                .kv("a.f64", array(GgufValueType.FLOAT64, f64(Math.E)))
                .kv("a.bool", array(GgufValueType.BOOL, bool(false), bool(true)))
                .kv("a.str", strings("a", "", "日本"))
                .kv("a.nested", array(GgufValueType.ARRAY, strings("x"), array(GgufValueType.INT32, i32(1), i32(-2)), array(GgufValueType.ARRAY)))
                .tensor("a", GgmlType.Q4_0, new long[] {64, 2}, tensor)
                .tensor("b", GgmlType.F32, new long[] {3}, GgufWriter.f32(1f, 2f, 3f))
                .tensor("c", GgmlType.Q4_0, new long[] {32, 2}, java.util.Arrays.copyOf(tensor, 36));
        Path in = w.write(dir.resolve("in.gguf"));
        Path out = dir.resolve("out.gguf");
        copy(in, out, GgufFileWriter.FILE_CHANNEL);
        // the test writer leaves the last tensor unpadded; llama.cpp (and this writer) pad it too
        byte[] a = Files.readAllBytes(in);
        byte[] b = Files.readAllBytes(out);
        assertEquals(0, b.length % 64);
        assertEquals(a.length + (64 - a.length % 64) % 64, b.length);
        assertArrayEquals(a, java.util.Arrays.copyOf(b, a.length));
        for (int i = a.length; i < b.length; i++) {
            assertEquals(0, b[i]);
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(64, f.alignment());
            assertEquals(0, f.tensor("c").offset() % 64);
        }
    }

    @Test
    void writtenTensorsCanBeMappedBackBeforeTheCommit() throws IOException {
        Path out = dir.resolve("m.gguf");
        try (GgufFileWriter w = GgufFileWriter.create(out, false, List.of(GgufFileWriter.string("general.architecture", "llama")),
                List.of(new GgufFileWriter.TensorSpec("t", GgmlType.F32, new long[] {4})))) {
            w.writeTensor("t", GgufWriter.f32(1f, -2f, 3f, 4.5f));
            assertEquals(-2f, w.written("t").get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 4));
            assertFalse(Files.exists(out), "nothing at the target before the commit");
            w.commit();
        }
        assertTrue(Files.exists(out));
        assertEquals(List.of("m.gguf"), names());
    }

    @Test
    void anExistingTargetIsRefusedUnlessOverwriting() throws IOException {
        Path out = dir.resolve("exists.gguf");
        Files.writeString(out, "keep me");
        List<GgufFileWriter.TensorSpec> none = List.of();
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> GgufFileWriter.create(out, false, List.of(), none));
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        assertEquals("keep me", Files.readString(out));
        try (GgufFileWriter w = GgufFileWriter.create(out, true, List.of(), none)) {
            w.commit();
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(0, f.tensors().size());
        }
        assertEquals(List.of("exists.gguf"), names());
    }

    @Test
    void aFullDiskLeavesNoFileBehindAndKeepsTheOldOne() throws IOException {
        Path in = SharedFiles.model("stories260K.gguf");
        Path out = dir.resolve("full.gguf");
        IOException e = assertThrows(IOException.class, () -> copy(in, out, DiskFull.after(100_000)));
        assertTrue(e.getMessage().startsWith("cannot write " + out + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertEquals(List.of(), names(), "no partial file, no temporary file");

        Files.writeString(out, "old model");
        try (GgufFile f = GgufFile.open(in)) {
            assertThrows(IOException.class, () -> {
                try (GgufFileWriter w = GgufFileWriter.create(out, true, new ArrayList<>(f.metadata().entries()), specs(f), DiskFull.after(0))) {
                    w.commit();
                }
            });
        }
        assertEquals("old model", Files.readString(out));
        assertEquals(List.of("full.gguf"), names());
    }

    @Test
    void committingWithATensorMissingFailsAndLeavesNothing() throws IOException {
        Path out = dir.resolve("partial.gguf");
        try (GgufFileWriter w = GgufFileWriter.create(out, false, List.of(),
                List.of(new GgufFileWriter.TensorSpec("a", GgmlType.F32, new long[] {1}), new GgufFileWriter.TensorSpec("b", GgmlType.F32, new long[] {1})))) {
            w.writeTensor("a", GgufWriter.f32(1f));
            IllegalStateException e = assertThrows(IllegalStateException.class, w::commit);
            assertTrue(e.getMessage().contains("'b'"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> w.writeTensor("a", GgufWriter.f32(1f, 2f)), "wrong size");
        }
        assertEquals(List.of(), names());
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
