package dev.edgellm.core.testing;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufValueType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes synthetic GGUF files for tests: every metadata value type (nested arrays included) and
 * tensors of any type, laid out like llama.cpp does (data section aligned, each tensor aligned).
 *
 * <p>Everything the reader checks can be overridden so corruption tests can build exactly the bad
 * file they need: magic, version, the two counts, raw key bytes, raw type ids and payloads, array
 * counts that disagree with their elements, tensor infos with any dims/type/offset and no data.
 *
 * <p>After {@link #toBytes()} the byte offset of each field is available from {@link #offset(String)}
 * so tests can check that error messages point at the right place or patch single fields:
 * <ul>
 *   <li>{@code "tensor_count"}, {@code "kv_count"}</li>
 *   <li>{@code "kv:KEY"} (the key's length field), {@code "kv:KEY:type"}, {@code "kv:KEY:value"}</li>
 *   <li>{@code "tensor:NAME"} (the info's name length field), {@code "tensor:NAME:ndims"},
 *       {@code "tensor:NAME:dim0"} .. {@code dimN}, {@code "tensor:NAME:type"}, {@code "tensor:NAME:offset"},
 *       {@code "tensor:NAME:data"} (absolute start of its data, when it has data)</li>
 *   <li>{@code "header_end"} (first byte after the last tensor info), {@code "data"} (aligned data section start)</li>
 * </ul>
 */
public final class GgufWriter {

    /** A metadata value: its GGUF type id and its encoded payload (without the type id). */
    public record Value(int typeId, byte[] payload) {
        public static Value u8(int v) { return new Value(GgufValueType.UINT8.id(), le(v, 1)); }
        public static Value i8(int v) { return new Value(GgufValueType.INT8.id(), le(v, 1)); }
        public static Value u16(int v) { return new Value(GgufValueType.UINT16.id(), le(v, 2)); }
        public static Value i16(int v) { return new Value(GgufValueType.INT16.id(), le(v, 2)); }
        public static Value u32(long v) { return new Value(GgufValueType.UINT32.id(), le(v, 4)); }
        public static Value i32(int v) { return new Value(GgufValueType.INT32.id(), le(v, 4)); }
        /** A u64 by bit pattern: {@code u64(-1)} is 2^64-1. */
        public static Value u64(long v) { return new Value(GgufValueType.UINT64.id(), le(v, 8)); }
        public static Value i64(long v) { return new Value(GgufValueType.INT64.id(), le(v, 8)); }
        public static Value f32(float v) { return new Value(GgufValueType.FLOAT32.id(), le(Float.floatToRawIntBits(v), 4)); }
        public static Value f64(double v) { return new Value(GgufValueType.FLOAT64.id(), le(Double.doubleToRawLongBits(v), 8)); }
        public static Value bool(boolean v) { return new Value(GgufValueType.BOOL.id(), new byte[] {(byte) (v ? 1 : 0)}); }
        public static Value str(String s) { return strBytes(s.getBytes(StandardCharsets.UTF_8)); }
        /** A string from raw bytes (need not be UTF-8). */
        public static Value strBytes(byte[] b) { return new Value(GgufValueType.STRING.id(), concat(le(b.length, 8), b)); }
        /** Any type id with any payload (unknown types, bad bools, truncated payloads). */
        public static Value raw(int typeId, byte[] payload) { return new Value(typeId, payload.clone()); }

        /** An array of {@code elementType}; every element must be of that type. */
        public static Value array(GgufValueType elementType, Value... elements) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Value e : elements) {
                if (e.typeId != elementType.id()) {
                    throw new IllegalArgumentException("element of type " + e.typeId + " in an array of " + elementType);
                }
                out.writeBytes(e.payload);
            }
            return arrayRaw(elementType.id(), elements.length, out.toByteArray());
        }

        /** An array header with any element type id and count, followed by {@code payload} as is. */
        public static Value arrayRaw(int elementTypeId, long count, byte[] payload) {
            return new Value(GgufValueType.ARRAY.id(), concat(le(elementTypeId, 4), le(count, 8), payload));
        }

        public static Value strings(String... s) {
            Value[] v = new Value[s.length];
            for (int i = 0; i < s.length; i++) {
                v[i] = str(s[i]);
            }
            return array(GgufValueType.STRING, v);
        }
    }

    private record Kv(byte[] key, Value value) {}

    private record TensorSpec(byte[] name, long[] dims, int typeId, Long offset, byte[] data) {}

    private int magic = GgufFile.MAGIC;
    private int version = 3;
    private Long tensorCount;
    private Long kvCount;
    private Integer alignment;
    private final List<Kv> kvs = new ArrayList<>();
    private final List<TensorSpec> tensors = new ArrayList<>();
    private final Map<String, Long> offsets = new HashMap<>();

    public GgufWriter magic(int m) {
        this.magic = m;
        return this;
    }

    public GgufWriter version(int v) {
        this.version = v;
        return this;
    }

    /** Writes this tensor count instead of the real one. */
    public GgufWriter tensorCount(long n) {
        this.tensorCount = n;
        return this;
    }

    /** Writes this metadata count instead of the real one. */
    public GgufWriter kvCount(long n) {
        this.kvCount = n;
        return this;
    }

    /**
     * The alignment used to lay out tensor data. Defaults to a u32 {@code general.alignment} value
     * when one was added, else 32. Does not write any key.
     */
    public GgufWriter layoutAlignment(int a) {
        this.alignment = a;
        return this;
    }

    public GgufWriter kv(String key, Value v) {
        return kvRaw(key.getBytes(StandardCharsets.UTF_8), v);
    }

    /** A key from raw bytes (need not be UTF-8). */
    public GgufWriter kvRaw(byte[] key, Value v) {
        kvs.add(new Kv(key.clone(), v));
        return this;
    }

    /** A tensor with data; its bytes must be exactly {@code type.byteSize(elements)}. Placed at the next aligned offset. */
    public GgufWriter tensor(String name, GgmlType type, long[] dims, byte[] data) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        if (type.byteSize(n) != data.length) {
            throw new IllegalArgumentException(name + ": " + data.length + " bytes of data for " + type + " " + java.util.Arrays.toString(dims));
        }
        tensors.add(new TensorSpec(name.getBytes(StandardCharsets.UTF_8), dims.clone(), type.id(), null, data.clone()));
        return this;
    }

    /** A tensor info only (no data written): any dims, type id and relative offset. */
    public GgufWriter tensorInfo(String name, int typeId, long[] dims, long relOffset) {
        tensors.add(new TensorSpec(name.getBytes(StandardCharsets.UTF_8), dims.clone(), typeId, relOffset, null));
        return this;
    }

    /** Fully raw tensor: name bytes, dims, type id, optional fixed relative offset and optional data. */
    public GgufWriter tensorRaw(byte[] name, int typeId, long[] dims, Long relOffset, byte[] data) {
        tensors.add(new TensorSpec(name.clone(), dims.clone(), typeId, relOffset, data == null ? null : data.clone()));
        return this;
    }

    /** The offset of a field recorded by the last {@link #toBytes()} (labels in the class doc). */
    public long offset(String label) {
        Long o = offsets.get(label);
        if (o == null) {
            throw new IllegalArgumentException("no offset recorded for " + label + " (call toBytes() first)");
        }
        return o;
    }

    public int alignment() {
        if (alignment != null) {
            return alignment;
        }
        for (Kv kv : kvs) {
            if (new String(kv.key, StandardCharsets.UTF_8).equals("general.alignment") && kv.value.typeId == GgufValueType.UINT32.id()) {
                int a = (int) leRead(kv.value.payload, 0, 4);
                if (a > 0 && Integer.bitCount(a) == 1) {
                    return a;
                }
            }
        }
        return GgufFile.DEFAULT_ALIGNMENT;
    }

    public byte[] toBytes() {
        offsets.clear();
        int align = alignment();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le(magic, 4));
        out.writeBytes(le(version, 4));
        offsets.put("tensor_count", (long) out.size());
        out.writeBytes(le(tensorCount != null ? tensorCount : tensors.size(), 8));
        offsets.put("kv_count", (long) out.size());
        out.writeBytes(le(kvCount != null ? kvCount : kvs.size(), 8));
        for (Kv kv : kvs) {
            String k = "kv:" + new String(kv.key, StandardCharsets.UTF_8);
            offsets.putIfAbsent(k, (long) out.size());
            out.writeBytes(le(kv.key.length, 8));
            out.writeBytes(kv.key);
            offsets.putIfAbsent(k + ":type", (long) out.size());
            out.writeBytes(le(kv.value.typeId, 4));
            offsets.putIfAbsent(k + ":value", (long) out.size());
            out.writeBytes(kv.value.payload);
        }
        // Relative data offsets: explicit ones as given, the others packed in order at aligned positions.
        long[] rel = new long[tensors.size()];
        long cursor = 0;
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            if (t.offset != null) {
                rel[i] = t.offset;
            } else {
                rel[i] = alignUp(cursor, align);
                cursor = rel[i] + (t.data == null ? 0 : t.data.length);
            }
        }
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            String k = "tensor:" + new String(t.name, StandardCharsets.UTF_8);
            offsets.putIfAbsent(k, (long) out.size());
            out.writeBytes(le(t.name.length, 8));
            out.writeBytes(t.name);
            offsets.putIfAbsent(k + ":ndims", (long) out.size());
            out.writeBytes(le(t.dims.length, 4));
            for (int d = 0; d < t.dims.length; d++) {
                offsets.putIfAbsent(k + ":dim" + d, (long) out.size());
                out.writeBytes(le(t.dims[d], 8));
            }
            offsets.putIfAbsent(k + ":type", (long) out.size());
            out.writeBytes(le(t.typeId, 4));
            offsets.putIfAbsent(k + ":offset", (long) out.size());
            out.writeBytes(le(rel[i], 8));
        }
        offsets.put("header_end", (long) out.size());
        long data = alignUp(out.size(), align);
        offsets.put("data", data);
        boolean anyData = tensors.stream().anyMatch(t -> t.data != null);
        if (!anyData) {
            return out.toByteArray();
        }
        pad(out, data);
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            if (t.data == null) {
                continue;
            }
            long at = data + rel[i];
            if (at < out.size()) {
                throw new IllegalStateException("tensor data would overlap: place tensors with data in offset order");
            }
            pad(out, at);
            offsets.putIfAbsent("tensor:" + new String(t.name, StandardCharsets.UTF_8) + ":data", at);
            out.writeBytes(t.data);
        }
        return out.toByteArray();
    }

    /** Writes {@link #toBytes()} to {@code file} and returns it. */
    public Path write(Path file) {
        try {
            Files.write(file, toBytes());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ encoding helpers for tensor data

    public static byte[] f32(float... v) {
        byte[] b = new byte[4 * v.length];
        for (int i = 0; i < v.length; i++) {
            System.arraycopy(le(Float.floatToRawIntBits(v[i]), 4), 0, b, 4 * i, 4);
        }
        return b;
    }

    public static byte[] f16(float... v) {
        byte[] b = new byte[2 * v.length];
        for (int i = 0; i < v.length; i++) {
            System.arraycopy(le(Float.floatToFloat16(v[i]), 2), 0, b, 2 * i, 2);
        }
        return b;
    }

    /** bfloat16 by truncation; pass values exactly representable in bf16. */
    public static byte[] bf16(float... v) {
        byte[] b = new byte[2 * v.length];
        for (int i = 0; i < v.length; i++) {
            System.arraycopy(le(Float.floatToRawIntBits(v[i]) >>> 16, 2), 0, b, 2 * i, 2);
        }
        return b;
    }

    /** {@code n} little-endian bytes of {@code v}. */
    public static byte[] le(long v, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }

    public static long leRead(byte[] b, int off, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    /** Overwrites {@code n} little-endian bytes of {@code v} at {@code off}. */
    public static void patch(byte[] file, long off, long v, int n) {
        System.arraycopy(le(v, n), 0, file, Math.toIntExact(off), n);
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static void pad(ByteArrayOutputStream out, long to) {
        while (out.size() < to) {
            out.write(0);
        }
    }

    private static long alignUp(long v, long a) {
        return (v + a - 1) / a * a;
    }
}
