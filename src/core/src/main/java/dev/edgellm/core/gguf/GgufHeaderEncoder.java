package dev.edgellm.core.gguf;

import dev.edgellm.core.gguf.GgufFileWriter.TensorSpec;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes a GGUF v3 header for {@link GgufFileWriter}: magic, version, counts, metadata key/value
 * pairs (every value type, nested arrays included, as {@link GgufFile} reads them back) and tensor
 * infos with each tensor's data offset at the next multiple of the alignment.
 */
final class GgufHeaderEncoder {
    private static final int VERSION = 3;

    private GgufHeaderEncoder() {}

    static byte[] header(List<GgufMetadata.Entry> metadata, List<TensorSpec> tensors, int alignment) {
        Out out = new Out();
        out.u32(GgufFile.MAGIC);
        out.u32(VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        java.util.Set<String> keys = new java.util.HashSet<>();
        for (GgufMetadata.Entry e : metadata) {
            if (!keys.add(e.key())) {
                throw new IllegalArgumentException("duplicate metadata key '" + e.key() + "'");
            }
            out.string(e.key().getBytes(StandardCharsets.UTF_8));
            out.u32(e.type().id());
            value(out, e.key(), e.type(), e.value());
        }
        long cursor = 0;
        java.util.Set<String> names = new java.util.HashSet<>();
        for (TensorSpec t : tensors) {
            if (t.name().isEmpty() || !names.add(t.name())) {
                throw new IllegalArgumentException("empty or duplicate tensor name '" + t.name() + "'");
            }
            if (t.dims().length < 1 || t.dims().length > GgufFile.MAX_DIMS || t.dims()[0] % t.type().blockSize() != 0) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' cannot be " + t.type() + " " + Arrays.toString(t.dims()));
            }
            out.string(t.name().getBytes(StandardCharsets.UTF_8));
            out.u32(t.dims().length);
            for (long d : t.dims()) {
                out.u64(d);
            }
            out.u32(t.type().id());
            out.u64(cursor);
            cursor += GgufFileWriter.align(t.byteSize(), alignment);
        }
        return out.toByteArray();
    }

    private static void value(Out out, String key, GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> out.le(asLong(key, v), 1);
            case UINT16, INT16 -> out.le(asLong(key, v), 2);
            case UINT32, INT32 -> out.le(asLong(key, v), 4);
            case UINT64, INT64 -> out.le(asLong(key, v), 8);
            case FLOAT32 -> out.le(Float.floatToRawIntBits(((Number) v).floatValue()), 4);
            case FLOAT64 -> out.le(Double.doubleToRawLongBits(((Number) v).doubleValue()), 8);
            case BOOL -> out.le(((Boolean) v) ? 1 : 0, 1);
            case STRING -> out.string(((String) v).getBytes(StandardCharsets.UTF_8));
            case ARRAY -> array(out, key, (GgufArray) v);
        }
    }

    private static long asLong(String key, Object v) {
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof Integer i) {
            return i;
        }
        throw new IllegalArgumentException("metadata key '" + key + "': " + v + " is not an integer");
    }

    private static void array(Out out, String key, GgufArray a) {
        out.u32(a.elementType().id());
        out.u64(a.length());
        int n = a.length();
        switch (a.elementType()) {
            case UINT8, INT8, BOOL -> out.bytes((byte[]) a.data(), n);
            case UINT16, INT16 -> {
                for (short s : (short[]) a.data()) {
                    out.le(s, 2);
                }
            }
            case UINT32, INT32 -> {
                for (int i : (int[]) a.data()) {
                    out.le(i, 4);
                }
            }
            case FLOAT32 -> {
                for (float f : (float[]) a.data()) {
                    out.le(Float.floatToRawIntBits(f), 4);
                }
            }
            case UINT64, INT64 -> {
                for (long l : (long[]) a.data()) {
                    out.le(l, 8);
                }
            }
            case FLOAT64 -> {
                for (double d : (double[]) a.data()) {
                    out.le(Double.doubleToRawLongBits(d), 8);
                }
            }
            case STRING -> {
                GgufStrings s = (GgufStrings) a.data();
                for (int i = 0; i < n; i++) {
                    out.string(s.bytes(i));
                }
            }
            case ARRAY -> {
                GgufArray[] nested = (GgufArray[]) a.data();
                for (int i = 0; i < n; i++) {
                    array(out, key + "[" + i + "]", nested[i]);
                }
            }
        }
    }

    /** A little-endian byte sink for the header. */
    private static final class Out extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void le(long v, int n) {
            scratch.clear();
            scratch.putLong(v);
            write(scratch.array(), 0, n);
        }

        void u32(long v) {
            le(v, 4);
        }

        void u64(long v) {
            le(v, 8);
        }

        void bytes(byte[] b, int n) {
            write(b, 0, n);
        }

        void string(byte[] utf8) {
            u64(utf8.length);
            write(utf8, 0, utf8.length);
        }
    }
}
