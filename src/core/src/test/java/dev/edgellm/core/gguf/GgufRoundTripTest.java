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
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.testing.GgufWriter;
import dev.edgellm.core.testing.GgufWriter.Value;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Writes synthetic GGUF files with {@link GgufWriter} and reads every value type and tensor type back. */
class GgufRoundTripTest {

    @TempDir
    Path dir;

    private static GgufMetadata.Entry entry(GgufFile f, String key) {
        return f.metadata().entry(key).orElseThrow(() -> new AssertionError("missing " + key));
    }

    private static void assertScalar(GgufFile f, String key, GgufValueType type, Object value) {
        GgufMetadata.Entry e = entry(f, key);
        assertEquals(type, e.type(), key);
        assertEquals(value, e.value(), key);
    }

    @Test
    void everyScalarType() throws IOException {
        GgufWriter w = new GgufWriter()
                .kv("u8.zero", u8(0))
                .kv("u8.max", u8(255))
                .kv("i8.min", i8(-128))
                .kv("i8.minus1", i8(-1))
                .kv("i8.max", i8(127))
                .kv("u16.max", u16(65535))
                .kv("i16.min", i16(-32768))
                .kv("i16.minus2", i16(-2))
                .kv("u32.max", u32(0xFFFF_FFFFL))
                .kv("i32.min", i32(Integer.MIN_VALUE))
                .kv("u64.max", u64(-1L))              // 2^64 - 1
                .kv("u64.2^63", u64(Long.MIN_VALUE))  // just above Long.MAX_VALUE
                .kv("u64.small", u64(42))
                .kv("i64.min", i64(Long.MIN_VALUE))
                .kv("i64.max", i64(Long.MAX_VALUE))
                .kv("f32.value", f32(3.25f))
                .kv("f32.negzero", f32(-0f))
                .kv("f32.nan", f32(Float.NaN))
                .kv("f32.tiny", f32(Float.MIN_VALUE))
                .kv("f64.pi", f64(Math.PI))
                .kv("f64.huge", f64(-1e300))
                .kv("bool.true", bool(true))
                .kv("bool.false", bool(false))
                .kv("str.empty", str(""))
                .kv("str.unicode", str("héllo ✓ 𝄞 日本"))
                .kv("str.nul", str("a\0b"))
                .kv("ключ.юникод", str("unicode key"));
        try (GgufFile f = GgufFile.open(w.write(dir.resolve("scalars.gguf")))) {
            assertEquals(27, f.metadata().entries().size());
            assertEquals(0, f.tensors().size());
            assertScalar(f, "u8.zero", GgufValueType.UINT8, 0L);
            assertScalar(f, "u8.max", GgufValueType.UINT8, 255L);
            assertScalar(f, "i8.min", GgufValueType.INT8, -128L);
            assertScalar(f, "i8.minus1", GgufValueType.INT8, -1L);
            assertScalar(f, "i8.max", GgufValueType.INT8, 127L);
            assertScalar(f, "u16.max", GgufValueType.UINT16, 65535L);
            assertScalar(f, "i16.min", GgufValueType.INT16, -32768L);
            assertScalar(f, "i16.minus2", GgufValueType.INT16, -2L);
            assertScalar(f, "u32.max", GgufValueType.UINT32, 4294967295L);
            assertScalar(f, "i32.min", GgufValueType.INT32, (long) Integer.MIN_VALUE);
            assertScalar(f, "u64.max", GgufValueType.UINT64, -1L);
            assertEquals("18446744073709551615", Long.toUnsignedString((Long) entry(f, "u64.max").value()));
            assertScalar(f, "u64.2^63", GgufValueType.UINT64, Long.MIN_VALUE);
            assertEquals("9223372036854775808", Long.toUnsignedString((Long) entry(f, "u64.2^63").value()));
            assertScalar(f, "u64.small", GgufValueType.UINT64, 42L);
            assertScalar(f, "i64.min", GgufValueType.INT64, Long.MIN_VALUE);
            assertScalar(f, "i64.max", GgufValueType.INT64, Long.MAX_VALUE);
            assertScalar(f, "f32.value", GgufValueType.FLOAT32, 3.25f);
            assertScalar(f, "f32.negzero", GgufValueType.FLOAT32, -0f);
            assertScalar(f, "f32.nan", GgufValueType.FLOAT32, Float.NaN);
            assertScalar(f, "f32.tiny", GgufValueType.FLOAT32, Float.MIN_VALUE);
            assertScalar(f, "f64.pi", GgufValueType.FLOAT64, Math.PI);
            assertScalar(f, "f64.huge", GgufValueType.FLOAT64, -1e300);
            assertScalar(f, "bool.true", GgufValueType.BOOL, true);
            assertScalar(f, "bool.false", GgufValueType.BOOL, false);
            assertScalar(f, "str.empty", GgufValueType.STRING, "");
            assertScalar(f, "str.unicode", GgufValueType.STRING, "héllo ✓ 𝄞 日本");
            assertScalar(f, "str.nul", GgufValueType.STRING, "a\0b");
            assertScalar(f, "ключ.юникод", GgufValueType.STRING, "unicode key");

            // File order and offsets are kept.
            List<String> keys = new ArrayList<>();
            for (GgufMetadata.Entry e : f.metadata().entries()) {
                keys.add(e.key());
                assertEquals(w.offset("kv:" + e.key()), e.offset(), e.key());
            }
            assertEquals("u8.zero", keys.get(0));
            assertEquals("ключ.юникод", keys.get(keys.size() - 1));

            // Typed accessors.
            GgufMetadata m = f.metadata();
            assertEquals(255, m.getInt("u8.max"));
            assertEquals(-1, m.getInt("i8.minus1"));
            assertEquals(-32768, m.getInt("i16.min"));
            assertEquals(Integer.MIN_VALUE, m.getInt("i32.min"));
            assertEquals(42, m.getInt("u64.small"));
            assertEquals(7, m.getInt("absent", 7));
            assertEquals(3.25f, m.getFloat("f32.value"));
            assertEquals((float) Math.PI, m.getFloat("f64.pi"));
            assertEquals(255f, m.getFloat("u8.max"));
            assertEquals(-1f, m.getFloat("i8.minus1"));
            assertEquals(0x1p64f, m.getFloat("u64.max"));   // unsigned, not -1
            assertEquals(0x1p63f, m.getFloat("u64.2^63"));
            assertEquals(-0x1p63f, m.getFloat("i64.min"));
            assertTrue(m.getBoolean("bool.true", false));
            assertFalse(m.getBoolean("bool.false", true));
            assertEquals("", m.getString("str.empty"));
            assertEquals("", m.findString("str.empty").orElseThrow());
            assertTrue(m.findString("absent").isEmpty());
            for (String k : new String[] {"u64.max", "u64.2^63", "i64.min", "i64.max", "u32.max"}) {
                GgufFormatException e = assertThrows(GgufFormatException.class, () -> m.getInt(k));
                assertTrue(e.getMessage().contains(k) && e.getMessage().contains("offset"), e.getMessage());
            }
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> m.getInt("u64.max"));
            assertTrue(e.getMessage().contains("18446744073709551615"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> m.getPositiveInt("i8.minus1"));
            assertTrue(e.getMessage().contains("i8.minus1"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> m.getBoolean("u8.max", false));
            assertTrue(e.getMessage().contains("u8.max") && e.getMessage().contains("u8"), e.getMessage());
        }
    }

    @Test
    void everyArrayType() throws IOException {
        GgufWriter w = new GgufWriter()
                .kv("a.u8", array(GgufValueType.UINT8, u8(0), u8(128), u8(255)))
                .kv("a.i8", array(GgufValueType.INT8, i8(-128), i8(-1), i8(0), i8(127)))
                .kv("a.u16", array(GgufValueType.UINT16, u16(0), u16(65535)))
                .kv("a.i16", array(GgufValueType.INT16, i16(-32768), i16(-1), i16(32767)))
                .kv("a.u32", array(GgufValueType.UINT32, u32(0), u32(0xFFFF_FFFFL)))
                .kv("a.i32", array(GgufValueType.INT32, i32(Integer.MIN_VALUE), i32(-1), i32(Integer.MAX_VALUE)))
                .kv("a.u64", array(GgufValueType.UINT64, u64(-1L), u64(Long.MIN_VALUE), u64(1)))
                .kv("a.i64", array(GgufValueType.INT64, i64(Long.MIN_VALUE), i64(Long.MAX_VALUE)))
                .kv("a.f32", array(GgufValueType.FLOAT32, f32(1.5f), f32(Float.NEGATIVE_INFINITY), f32(-0f)))
                .kv("a.f64", array(GgufValueType.FLOAT64, f64(Math.E), f64(Double.MIN_VALUE)))
                .kv("a.bool", array(GgufValueType.BOOL, bool(true), bool(false), bool(true)))
                .kv("a.str", strings("", "a", "✓ 𝄞"));
        for (GgufValueType t : GgufValueType.values()) {
            w.kv("empty." + t.shortName(), array(t));
        }
        try (GgufFile f = GgufFile.open(w.write(dir.resolve("arrays.gguf")))) {
            GgufMetadata m = f.metadata();
            assertArray(m, "a.u8", GgufValueType.UINT8, new byte[] {0, (byte) 128, (byte) 255});
            assertLongs(m.getArray("a.u8"), 0, 128, 255);
            assertArray(m, "a.i8", GgufValueType.INT8, new byte[] {-128, -1, 0, 127});
            assertLongs(m.getArray("a.i8"), -128, -1, 0, 127);
            assertArray(m, "a.u16", GgufValueType.UINT16, new short[] {0, (short) 65535});
            assertLongs(m.getArray("a.u16"), 0, 65535);
            assertArray(m, "a.i16", GgufValueType.INT16, new short[] {-32768, -1, 32767});
            assertLongs(m.getArray("a.i16"), -32768, -1, 32767);
            assertArray(m, "a.u32", GgufValueType.UINT32, new int[] {0, -1});
            assertLongs(m.getArray("a.u32"), 0, 4294967295L);
            assertArray(m, "a.i32", GgufValueType.INT32, new int[] {Integer.MIN_VALUE, -1, Integer.MAX_VALUE});
            assertLongs(m.getArray("a.i32"), Integer.MIN_VALUE, -1, Integer.MAX_VALUE);
            assertArray(m, "a.u64", GgufValueType.UINT64, new long[] {-1L, Long.MIN_VALUE, 1});
            assertEquals(0x1p64, m.getArray("a.u64").getDouble(0)); // unsigned, not -1
            assertEquals(0x1p63, m.getArray("a.u64").getDouble(1));
            assertEquals(1.0, m.getArray("a.u64").getDouble(2));
            assertEquals(-0x1p63, m.getArray("a.i64").getDouble(0));
            assertEquals(4294967295.0, m.getArray("a.u32").getDouble(1));
            assertArray(m, "a.i64", GgufValueType.INT64, new long[] {Long.MIN_VALUE, Long.MAX_VALUE});
            assertArray(m, "a.f32", GgufValueType.FLOAT32, new float[] {1.5f, Float.NEGATIVE_INFINITY, -0f});
            assertEquals(1.5, m.getArray("a.f32").getDouble(0));
            assertArray(m, "a.f64", GgufValueType.FLOAT64, new double[] {Math.E, Double.MIN_VALUE});
            assertEquals(Double.MIN_VALUE, m.getArray("a.f64").getDouble(1));
            assertArray(m, "a.bool", GgufValueType.BOOL, new byte[] {1, 0, 1});
            assertLongs(m.getArray("a.bool"), 1, 0, 1);
            assertArray(m, "a.str", GgufValueType.STRING, GgufStrings.of("", "a", "✓ 𝄞"));
            assertArrayEquals(new String[] {"", "a", "✓ 𝄞"}, m.getStringArray("a.str"));
            assertEquals("a", m.getArray("a.str").getString(1));
            for (GgufValueType t : GgufValueType.values()) {
                GgufArray a = m.getArray("empty." + t.shortName());
                assertEquals(t, a.elementType(), t.toString());
                assertEquals(0, a.length(), t.toString());
                assertEquals(0, a.data() instanceof GgufStrings g ? g.length() : java.lang.reflect.Array.getLength(a.data()), t.toString());
            }
            assertEquals(0, m.getStringArray("empty.str").length);
            assertEquals("[0, 128, 255]", m.getArray("a.u8").preview(8));
            assertEquals("[\"\", \"a\", ... (3 total)]", m.getArray("a.str").preview(2));
        }
    }

    @Test
    void nestedArrays() throws IOException {
        Value arrOfArrOfStr = array(GgufValueType.ARRAY, strings("a", "b"), strings(), strings(""));
        Value arr3 = array(GgufValueType.ARRAY,
                array(GgufValueType.ARRAY, array(GgufValueType.INT32, i32(1), i32(-2)), array(GgufValueType.INT32)),
                array(GgufValueType.ARRAY));
        Value mixedInner = array(GgufValueType.ARRAY,
                array(GgufValueType.UINT64, u64(-1L)),
                array(GgufValueType.BOOL, bool(false)),
                array(GgufValueType.FLOAT64, f64(0.125)));
        // Eight levels: the deepest the reader accepts.
        Value deep = array(GgufValueType.UINT8, u8(7));
        for (int i = 1; i < 8; i++) {
            deep = array(GgufValueType.ARRAY, deep);
        }
        GgufWriter w = new GgufWriter()
                .kv("nested.str", arrOfArrOfStr)
                .kv("nested.3", arr3)
                .kv("nested.mixed", mixedInner)
                .kv("nested.deep8", deep)
                .kv("after", str("still in sync"));
        try (GgufFile f = GgufFile.open(w.write(dir.resolve("nested.gguf")))) {
            GgufMetadata m = f.metadata();
            GgufArray a = m.getArray("nested.str");
            assertEquals(GgufValueType.ARRAY, a.elementType());
            assertEquals(3, a.length());
            GgufArray[] inner = (GgufArray[]) a.data();
            assertEquals(new GgufArray(GgufValueType.STRING, 2, GgufStrings.of("a", "b")), inner[0]);
            assertEquals(new GgufArray(GgufValueType.STRING, 0, GgufStrings.of()), inner[1]);
            assertEquals(new GgufArray(GgufValueType.STRING, 1, GgufStrings.of("")), inner[2]);
            assertEquals(new GgufArray(GgufValueType.ARRAY, 3, new GgufArray[] {
                new GgufArray(GgufValueType.STRING, 2, GgufStrings.of("a", "b")),
                new GgufArray(GgufValueType.STRING, 0, GgufStrings.of()),
                new GgufArray(GgufValueType.STRING, 1, GgufStrings.of(""))}), a);
            assertNotEquals(new GgufArray(GgufValueType.ARRAY, 3, new GgufArray[] {
                new GgufArray(GgufValueType.STRING, 2, GgufStrings.of("a", "c")),
                new GgufArray(GgufValueType.STRING, 0, GgufStrings.of()),
                new GgufArray(GgufValueType.STRING, 1, GgufStrings.of(""))}), a);

            GgufArray three = m.getArray("nested.3");
            GgufArray lvl1 = ((GgufArray[]) three.data())[0];
            GgufArray lvl2 = ((GgufArray[]) lvl1.data())[0];
            assertEquals(GgufValueType.INT32, lvl2.elementType());
            assertLongs(lvl2, 1, -2);
            assertEquals(0, ((GgufArray[]) lvl1.data())[1].length());
            assertEquals(GgufValueType.ARRAY, ((GgufArray[]) three.data())[1].elementType());
            assertEquals(0, ((GgufArray[]) three.data())[1].length());

            GgufArray[] mixed = (GgufArray[]) m.getArray("nested.mixed").data();
            assertEquals(-1L, mixed[0].getLong(0));
            assertEquals(0L, mixed[1].getLong(0));
            assertEquals(0.125, mixed[2].getDouble(0));

            GgufArray d = m.getArray("nested.deep8");
            for (int i = 1; i < 8; i++) {
                assertEquals(GgufValueType.ARRAY, d.elementType());
                d = ((GgufArray[]) d.data())[0];
            }
            assertLongs(d, 7);
            assertEquals("still in sync", m.getString("after"));
            assertEquals("[[\"a\", \"b\"], [], [\"\"]]", m.getArray("nested.str").preview(8));
        }
    }

    @Test
    void tensorsOfEverySupportedType() throws IOException {
        float[] f32 = {1f, -2.5f, 3.25f, 0f, Float.MIN_VALUE, -0f};
        float[] f16 = {1f, -2f, 65504f, 0.5f};
        float[] bf16 = {1f, -3f, 0.5f, 256f};
        byte[] q8 = new byte[2 * 34];
        q8[1] = 0x38; // d = 0.5
        q8[35] = (byte) 0xB8; // d = -0.5
        for (int j = 0; j < 32; j++) {
            q8[2 + j] = (byte) (j * 8 - 128);
            q8[36 + j] = (byte) (127 - j);
        }
        byte[] q4 = new byte[2 * 18];
        q4[1] = 0x3C; // d = 1
        q4[19] = 0x40; // d = 2
        for (int j = 0; j < 16; j++) {
            q4[2 + j] = (byte) (j | (15 - j) << 4);
            q4[20 + j] = (byte) 0x80; // low 0 -> -8 * 2, high 8 -> 0
        }
        byte[] q4k = new byte[144];
        q4k[0] = 1;
        GgufWriter w = new GgufWriter()
                .kv("general.alignment", u32(64))
                .tensor("t.f32", GgmlType.F32, new long[] {3, 2}, GgufWriter.f32(f32))
                .tensor("t.f16", GgmlType.F16, new long[] {4}, GgufWriter.f16(f16))
                .tensor("t.bf16", GgmlType.BF16, new long[] {2, 2}, GgufWriter.bf16(bf16))
                .tensor("t.q8_0", GgmlType.Q8_0, new long[] {32, 2}, q8)
                .tensor("t.q4_0", GgmlType.Q4_0, new long[] {64}, q4)
                .tensor("t.q4_0.4d", GgmlType.Q4_0, new long[] {32, 1, 2, 1}, q4)
                .tensor("t.q4_k", GgmlType.Q4_K, new long[] {256}, q4k);
        try (GgufFile f = GgufFile.open(w.write(dir.resolve("tensors.gguf")))) {
            assertEquals(64, f.alignment());
            assertEquals(w.offset("data"), f.dataOffset());
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(7, f.tensors().size());
            assertEquals(List.of("t.f32", "t.f16", "t.bf16", "t.q8_0", "t.q4_0", "t.q4_0.4d", "t.q4_k"), new ArrayList<>(f.tensors().keySet()));
            for (GgufTensor t : f.tensors().values()) {
                assertEquals(w.offset("tensor:" + t.name() + ":data"), t.offset(), t.name());
                assertEquals(0, t.offset() % 64, t.name());
                assertEquals(f.segment().address() + t.offset(), t.data().address(), t.name());
            }
            assertArrayEquals(f32, decode(f.tensor("t.f32")));
            assertEquals(3, f.tensor("t.f32").cols());
            assertEquals(2, f.tensor("t.f32").rows());
            assertArrayEquals(f16, decode(f.tensor("t.f16")));
            assertArrayEquals(bf16, decode(f.tensor("t.bf16")));
            float[] q8v = decode(f.tensor("t.q8_0"));
            for (int j = 0; j < 32; j++) {
                assertEquals((j * 8 - 128) * 0.5f, q8v[j]);
                assertEquals((127 - j) * -0.5f, q8v[32 + j]);
            }
            float[] q4v = decode(f.tensor("t.q4_0"));
            for (int j = 0; j < 16; j++) {
                assertEquals(j - 8f, q4v[j]);
                assertEquals(7f - j, q4v[16 + j]);
                assertEquals(-16f, q4v[32 + j]);
                assertEquals(0f, q4v[48 + j]);
            }
            GgufTensor t4 = f.tensor("t.q4_0.4d");
            assertArrayEquals(new long[] {32, 1, 2, 1}, t4.dims());
            assertEquals(64, t4.elements());
            assertEquals(2, t4.rows());
            assertArrayEquals(q4v, decode(t4));
            GgufTensor k = f.tensor("t.q4_k");
            assertEquals(GgmlType.Q4_K, k.type());
            assertEquals(144, k.byteSize());
            assertArrayEquals(q4k, k.data().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 8, 32, 64, 4096})
    void anyPowerOfTwoAlignment(int alignment) throws IOException {
        GgufWriter w = new GgufWriter()
                .kv("general.alignment", u32(alignment))
                .tensor("a", GgmlType.F32, new long[] {3}, GgufWriter.f32(1, 2, 3))
                .tensor("b", GgmlType.F16, new long[] {1}, GgufWriter.f16(4))
                .tensor("c", GgmlType.F32, new long[] {1}, GgufWriter.f32(5));
        try (GgufFile f = GgufFile.open(w.write(dir.resolve("align" + alignment + ".gguf")))) {
            assertEquals(alignment, f.alignment());
            assertEquals(w.offset("data"), f.dataOffset());
            for (String n : new String[] {"a", "b", "c"}) {
                assertEquals(w.offset("tensor:" + n + ":data"), f.tensor(n).offset(), n);
                assertEquals(0, f.tensor(n).offset() % alignment);
            }
            assertArrayEquals(new float[] {1, 2, 3}, decode(f.tensor("a")));
            assertArrayEquals(new float[] {4}, decode(f.tensor("b")));
            assertArrayEquals(new float[] {5}, decode(f.tensor("c")));
        }
    }

    @Test
    void versionTwoIsRead() throws IOException {
        GgufWriter w = new GgufWriter().version(2).kv("general.architecture", str("llama"))
                .tensor("x", GgmlType.F32, new long[] {2}, GgufWriter.f32(1, 2));
        try (GgufFile f = GgufFile.open(w.write(dir.resolve("v2.gguf")))) {
            assertEquals(2, f.version());
            assertEquals("llama", f.metadata().architecture());
            assertArrayEquals(new float[] {1, 2}, decode(f.tensor("x")));
        }
    }

    @Test
    void headerOnlyFiles() throws IOException {
        try (GgufFile f = GgufFile.open(new GgufWriter().write(dir.resolve("empty.gguf")))) {
            assertEquals(24, f.fileSize());
            assertEquals(0, f.metadata().entries().size());
            assertEquals(0, f.tensors().size());
            assertEquals(32, f.dataOffset());
        }
    }

    private static float[] decode(GgufTensor t) {
        float[] out = new float[Math.toIntExact(t.elements())];
        for (int r = 0; r < t.rows(); r++) {
            Codecs.dequantizeRow(t.type(), t.data(), r * t.rowBytes(), out, r * t.cols(), t.cols());
        }
        for (int i = 0; i < out.length; i++) {
            int r = i / t.cols();
            assertEquals(Float.floatToIntBits(out[i]),
                    Float.floatToIntBits(Codecs.element(t.type(), t.data(), r * t.rowBytes(), i % t.cols())), t.name() + "[" + i + "]");
        }
        return out;
    }

    private static void assertArray(GgufMetadata m, String key, GgufValueType et, Object data) {
        GgufArray a = m.getArray(key);
        assertEquals(et, a.elementType(), key);
        assertEquals(data instanceof GgufStrings g ? g.length() : java.lang.reflect.Array.getLength(data), a.length(), key);
        assertEquals(new GgufArray(et, a.length(), data), a, key);
        assertEquals(GgufValueType.ARRAY, m.entry(key).orElseThrow().type());
    }

    private static void assertLongs(GgufArray a, long... expected) {
        assertEquals(expected.length, a.length());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], a.getLong(i), "element " + i);
        }
    }
}
