package dev.edgellm.core.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A memory-mapped GGUF file (versions 2 and 3): metadata, tensor infos, and zero-copy tensor slices.
 *
 * <p>The file is untrusted input. Every length, count, dimension and offset is checked against the
 * bytes that exist before anything is allocated, and every problem is reported as a
 * {@link GgufFormatException} naming the key or tensor and the byte offset.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian u32. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    /** ggml tensors have at most four dimensions. */
    public static final int MAX_DIMS = 4;
    /** Nested metadata arrays deeper than this are refused (no legitimate file comes close). */
    private static final int MAX_ARRAY_DEPTH = 8;
    /**
     * Longest metadata string accepted, in bytes. The largest real ones are embedded tokenizer
     * JSONs of a few tens of MiB; the cap keeps a corrupt length in a multi-GiB model from
     * allocating gigabytes (or more than a Java array can hold).
     */
    static final long MAX_STRING_BYTES = 1L << 28;
    /**
     * Most elements accepted in one metadata array. The largest real ones (vocabularies, merges)
     * have well under a million; the cap bounds what a corrupt count can make the reader allocate.
     */
    static final int MAX_ARRAY_LENGTH = 1 << 24;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final GgufMetadata metadata;
    private final Map<String, GgufTensor> tensors;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        Reader r = new Reader(file);
        if (file.byteSize() < 4) {
            throw new GgufFormatException(path + ": not a GGUF file: only " + file.byteSize() + " bytes (a GGUF header takes 24)");
        }
        int magic = r.u32("magic");
        if (magic != MAGIC) {
            throw new GgufFormatException(String.format("%s: not a GGUF file: bad magic 0x%08x at offset 0 (expected \"GGUF\")", path, magic));
        }
        int v = r.u32("version");
        if (v == 1) {
            throw new GgufFormatException(path + ": GGUF version 1 is obsolete and not supported (offset 4); re-convert the model");
        }
        if (v != 2 && v != 3) {
            if (Integer.reverseBytes(v) == 2 || Integer.reverseBytes(v) == 3) {
                throw new GgufFormatException(path + ": big-endian GGUF files are not supported (version field at offset 4)");
            }
            throw new GgufFormatException(path + ": unsupported GGUF version " + Integer.toUnsignedString(v) + " at offset 4 (2 and 3 are supported)");
        }
        this.version = v;
        long tensorCount = r.u64("tensor_count");
        long kvCount = r.u64("metadata_kv_count");
        // Each tensor info takes at least 8 (name len) + 4 (n_dims) + 4 (type) + 8 (offset) bytes; each kv at least 8 + 4 + 1.
        if (tensorCount < 0 || tensorCount > r.remaining() / 24) {
            throw new GgufFormatException(path + ": tensor count " + Long.toUnsignedString(tensorCount) + " at offset 8 cannot fit in the "
                    + r.remaining() + " bytes that follow (file of " + file.byteSize() + " bytes truncated or corrupt)");
        }
        if (kvCount < 0 || kvCount > r.remaining() / 13) {
            throw new GgufFormatException(path + ": metadata count " + Long.toUnsignedString(kvCount) + " at offset 16 cannot fit in the "
                    + r.remaining() + " bytes that follow (file of " + file.byteSize() + " bytes truncated or corrupt)");
        }

        Map<String, GgufMetadata.Entry> kvs = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyOffset = r.pos;
            String key = r.string("metadata key #" + i);
            if (key.isEmpty()) {
                throw new GgufFormatException(path + ": empty metadata key #" + i + " at offset " + keyOffset);
            }
            long typeOffset = r.pos;
            int typeId = r.u32("the value type of '" + key + "'");
            GgufValueType type = GgufValueType.byId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw new GgufFormatException(path + ": metadata key '" + key + "' has unknown value type " + Integer.toUnsignedString(typeId) + " at offset " + typeOffset);
            }
            Object value = r.value(key, type, 0);
            if (kvs.put(key, new GgufMetadata.Entry(key, type, value, keyOffset)) != null) {
                throw new GgufFormatException(path + ": duplicate metadata key '" + key + "' at offset " + keyOffset);
            }
        }
        this.metadata = new GgufMetadata(path.toString(), kvs);
        this.alignment = metadata.alignment();

        record Info(String name, long[] dims, GgmlType type, long relOffset, long infoOffset) {}
        // Not presized from the count: a corrupt count in a big file must not allocate before failing.
        List<Info> infos = new ArrayList<>((int) Math.min(tensorCount, 1024));
        Map<String, Long> infoOffsets = new HashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long infoOffset = r.pos;
            String name = r.string("tensor name #" + i);
            if (name.isEmpty()) {
                // Tensors are looked up by name; an empty one is what a header read from zeros looks like.
                throw new GgufFormatException(path + ": empty tensor name #" + i + " at offset " + infoOffset);
            }
            Long first = infoOffsets.putIfAbsent(name, infoOffset);
            if (first != null) {
                throw new GgufFormatException(path + ": duplicate tensor name '" + name + "' (tensor info at offset " + infoOffset
                        + ", first at offset " + first + ")");
            }
            long nDims = Integer.toUnsignedLong(r.u32("n_dims of tensor '" + name + "'"));
            if (nDims == 0 || nDims > MAX_DIMS) {
                throw new GgufFormatException(path + ": tensor '" + name + "' has " + nDims + " dimensions at offset " + (r.pos - 4) + " (1 to " + MAX_DIMS + " allowed)");
            }
            long[] dims = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                long dimOffset = r.pos;
                dims[d] = r.u64("dimension " + d + " of tensor '" + name + "'");
                if (dims[d] <= 0 || dims[d] > Integer.MAX_VALUE) {
                    throw new GgufFormatException(path + ": tensor '" + name + "' dimension " + d + " is " + Long.toUnsignedString(dims[d]) + " at offset " + dimOffset);
                }
                elements = multiplyOrFail(elements, dims[d], name, dimOffset);
            }
            long typeOffset = r.pos;
            int typeId = r.u32("the type of tensor '" + name + "'");
            GgmlType type = GgmlType.byId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw new GgufFormatException(path + ": tensor '" + name + "' has unknown ggml type " + Integer.toUnsignedString(typeId) + " at offset " + typeOffset);
            }
            if (dims[0] % type.blockSize() != 0) {
                throw new GgufFormatException(path + ": tensor '" + name + "' row length " + dims[0] + " is not a multiple of the " + type + " block size " + type.blockSize() + " (tensor info at offset " + infoOffset + ")");
            }
            long relOffset = r.u64("the data offset of tensor '" + name + "'");
            infos.add(new Info(name, dims, type, relOffset, infoOffset));
        }

        long data = alignUp(r.pos, alignment);
        this.dataOffset = data;
        // Bytes available to tensor data; negative when the header ends within the last alignment padding.
        long available = file.byteSize() - data;
        Map<String, GgufTensor> byName = new LinkedHashMap<>();
        for (Info info : infos) {
            long size = info.type.byteSize(elementsOf(info.dims));
            String rel = Long.toUnsignedString(info.relOffset);
            if (Long.remainderUnsigned(info.relOffset, alignment) != 0) {
                throw new GgufFormatException(path + ": tensor '" + info.name + "' data offset " + rel + " is not a multiple of the alignment "
                        + alignment + " (tensor info at offset " + info.infoOffset + ")");
            }
            // Unsigned compare first so that offsets of 2^63 and above cannot wrap around.
            if (Long.compareUnsigned(info.relOffset, Math.max(available, 0)) > 0 || size > available - info.relOffset) {
                throw new GgufFormatException(path + ": tensor '" + info.name + "' data (" + size + " bytes at data offset " + rel
                        + ", file offset " + (info.relOffset >= 0 && info.relOffset <= available ? Long.toString(data + info.relOffset) : data + " + " + rel)
                        + ") runs past the end of the file of " + file.byteSize() + " bytes (truncated?; tensor info at offset " + info.infoOffset + ")");
            }
            long start = data + info.relOffset;
            byName.put(info.name, new GgufTensor(info.name, info.type, info.dims, start, file.asSlice(start, size).asReadOnly()));
        }
        this.tensors = Collections.unmodifiableMap(byName);
    }

    /**
     * Maps and parses a GGUF file. The mapping stays valid until {@link #close()}.
     *
     * @throws GgufFormatException when the file is not a valid GGUF file
     * @throws IOException         when it cannot be read (missing, unreadable)
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            // An empty heap segment for an empty file: no restricted reinterpret() call needed.
            MemorySegment seg = ch.size() == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, seg);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new NoSuchFileException(path.toString(), null, "model file not found");
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** Tensors in file order. */
    public Map<String, GgufTensor> tensors() {
        return tensors;
    }

    public Optional<GgufTensor> findTensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The tensor with this name, or a {@link GgufFormatException} saying it is missing. */
    public GgufTensor tensor(String name) {
        GgufTensor t = tensors.get(name);
        if (t == null) {
            throw new GgufFormatException(path + ": required tensor '" + name + "' is missing");
        }
        return t;
    }

    public int alignment() {
        return alignment;
    }

    /** Absolute offset where tensor data begins. */
    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return file.byteSize();
    }

    /** The whole mapping (read-only use only). */
    public MemorySegment segment() {
        return file;
    }

    /**
     * Drops the mapping's pages from this process's resident memory ({@code madvise(MADV_DONTNEED)}
     * through {@link MemorySegment#unload()}); the file stays mapped, and a later read faults its
     * page back in from the page cache. For after loading, when what the model keeps reading is
     * already elsewhere (repacked weights, decoded norms, the tokenizer's tables) and the loader's
     * reads, with the kernel's fault-around neighbours, would otherwise stay counted.
     */
    public void dropResidentPages() {
        if (file.isMapped()) {
            file.unload();
        }
    }

    @Override
    public void close() {
        arena.close();
    }

    static long alignUp(long v, long a) {
        return (v + a - 1) / a * a;
    }

    private static long elementsOf(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    private long multiplyOrFail(long a, long b, String tensor, long offset) {
        long p = a * b;
        if (b != 0 && (p / b != a || p > (1L << 50))) {
            throw new GgufFormatException(path + ": tensor '" + tensor + "' has an absurd element count (dimension at offset " + offset + ")");
        }
        return p;
    }

    /** A bounds-checked little-endian cursor over the mapping. */
    private final class Reader {
        private final MemorySegment seg;
        private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        long pos;

        Reader(MemorySegment seg) {
            this.seg = seg;
        }

        long remaining() {
            return seg.byteSize() - pos;
        }

        private void need(long n, String what) {
            if (n < 0 || n > remaining()) {
                throw new GgufFormatException(path + ": truncated file: reading " + what + " at offset " + pos + " needs " + Long.toUnsignedString(n) + " bytes, only " + remaining() + " remain");
            }
        }

        int u32(String what) {
            need(4, what);
            int v = seg.get(U32, pos);
            pos += 4;
            return v;
        }

        long u64(String what) {
            need(8, what);
            long v = seg.get(U64, pos);
            pos += 8;
            return v;
        }

        String string(String what) {
            return string(what, null, 0);
        }

        /** A string; {@code what} describes it, or when null it is element {@code index} of array {@code key}. */
        String string(String what, String key, int index) {
            long lenOffset = pos;
            long len = stringLength(what, key, index);
            if (len == 0) {
                return "";
            }
            byte[] bytes = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            try {
                String s = utf8.reset().decode(ByteBuffer.wrap(bytes)).toString();
                pos += len;
                return s;
            } catch (CharacterCodingException e) {
                throw new GgufFormatException(path + ": " + describe(what, key, index) + " is not valid UTF-8 (string at offset " + (lenOffset + 8) + ")", e);
            }
        }

        /** Reads a string's length field and checks the string fits; leaves {@link #pos} at its bytes. */
        private long stringLength(String what, String key, int index) {
            long lenOffset = pos;
            if (remaining() < 8) {
                need(8, describe(what, key, index));
            }
            long len = seg.get(U64, pos);
            pos += 8;
            if (len < 0 || len > remaining()) {
                throw new GgufFormatException(path + ": string length " + Long.toUnsignedString(len) + " of " + describe(what, key, index) + " at offset " + lenOffset
                        + " runs past the end of the file (" + remaining() + " bytes left; truncated?)");
            }
            if (len > MAX_STRING_BYTES) {
                throw new GgufFormatException(path + ": string length " + len + " of " + describe(what, key, index) + " at offset " + lenOffset
                        + " exceeds the limit of " + MAX_STRING_BYTES + " bytes");
            }
            return len;
        }

        /**
         * The {@code n} strings of array {@code key}, checked as {@link #string} checks them, kept as
         * UTF-8 ({@link GgufStrings}) rather than as {@code n} {@code String} objects.
         */
        GgufStrings strings(String key, int n) {
            int[] ends = new int[n];
            byte[] bytes = new byte[(int) Math.min(remaining(), 1 << 16)];
            CharBuffer chars = CharBuffer.allocate(256);
            int size = 0;
            for (int i = 0; i < n; i++) {
                long lenOffset = pos;
                long len = stringLength(null, key, i);
                if (size + len > Integer.MAX_VALUE - 8) {
                    throw new GgufFormatException(path + ": metadata key '" + key + "' holds more than 2 GiB of strings (element " + i + " at offset " + lenOffset + ")");
                }
                int l = (int) len;
                if (size + l > bytes.length) {
                    bytes = Arrays.copyOf(bytes, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(2L * bytes.length, (long) size + l)));
                }
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, bytes, size, l);
                // strict UTF-8 (as string() decodes), into a reused buffer: at most one char per byte
                if (chars.capacity() < l) {
                    chars = CharBuffer.allocate(l);
                }
                CoderResult r = utf8.reset().decode(ByteBuffer.wrap(bytes, size, l), chars.clear(), true);
                if (!r.isError()) {
                    r = utf8.flush(chars);
                }
                if (r.isError()) {
                    throw new GgufFormatException(path + ": " + describe(null, key, i) + " is not valid UTF-8 (string at offset " + (lenOffset + 8) + ")");
                }
                pos += l;
                size += l;
                ends[i] = size;
            }
            return new GgufStrings(Arrays.copyOf(bytes, size), ends);
        }

        private static String describe(String what, String key, int index) {
            return what != null ? what : "element " + index + " of '" + key + "'";
        }

        Object value(String key, GgufValueType type, int depth) {
            long at = pos;
            String what = "the value of '" + key + "'";
            return switch (type) {
                case UINT8 -> { need(1, what); yield (long) (seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF); }
                case INT8 -> { need(1, what); yield (long) seg.get(ValueLayout.JAVA_BYTE, pos++); }
                case BOOL -> {
                    need(1, what);
                    byte b = seg.get(ValueLayout.JAVA_BYTE, pos++);
                    if (b != 0 && b != 1) {
                        throw new GgufFormatException(path + ": metadata key '" + key + "' bool value " + (b & 0xFF) + " at offset " + at + " is neither 0 nor 1");
                    }
                    yield b == 1;
                }
                case UINT16 -> { need(2, what); long v = seg.get(U16, pos) & 0xFFFFL; pos += 2; yield v; }
                case INT16 -> { need(2, what); long v = seg.get(U16, pos); pos += 2; yield v; }
                case UINT32 -> Integer.toUnsignedLong(u32(what));
                case INT32 -> (long) u32(what);
                case UINT64, INT64 -> u64(what);
                case FLOAT32 -> { need(4, what); float f = seg.get(F32, pos); pos += 4; yield f; }
                case FLOAT64 -> { need(8, what); double d = seg.get(F64, pos); pos += 8; yield d; }
                case STRING -> string(what);
                case ARRAY -> array(key, depth);
            };
        }

        GgufArray array(String key, int depth) {
            if (depth >= MAX_ARRAY_DEPTH) {
                throw new GgufFormatException(path + ": metadata key '" + key + "' nests arrays deeper than " + MAX_ARRAY_DEPTH + " at offset " + pos);
            }
            long typeOffset = pos;
            int typeId = u32("the element type of array '" + key + "'");
            GgufValueType et = GgufValueType.byId(Integer.toUnsignedLong(typeId));
            if (et == null) {
                throw new GgufFormatException(path + ": metadata key '" + key + "' is an array of unknown type " + Integer.toUnsignedString(typeId) + " at offset " + typeOffset);
            }
            long countOffset = pos;
            long count = u64("the length of array '" + key + "'");
            if (count < 0 || count > remaining() / et.minBytes()) {
                throw new GgufFormatException(path + ": metadata key '" + key + "' array count " + Long.toUnsignedString(count) + " at offset " + countOffset
                        + " cannot fit in the " + remaining() + " bytes left (truncated or corrupt)");
            }
            if (count > MAX_ARRAY_LENGTH) {
                throw new GgufFormatException(path + ": metadata key '" + key + "' array count " + count + " at offset " + countOffset
                        + " exceeds the limit of " + MAX_ARRAY_LENGTH + " elements");
            }
            int n = (int) count;
            Object data;
            switch (et) {
                case UINT8, INT8 -> { data = seg.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE); pos += n; }
                case BOOL -> {
                    byte[] b = seg.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
                    for (int i = 0; i < n; i++) {
                        if (b[i] != 0 && b[i] != 1) {
                            throw new GgufFormatException(path + ": metadata key '" + key + "' bool element " + i + " value " + (b[i] & 0xFF) + " at offset " + (pos + i) + " is neither 0 nor 1");
                        }
                    }
                    data = b;
                    pos += n;
                }
                case UINT16, INT16 -> { data = seg.asSlice(pos, 2L * n).toArray(U16); pos += 2L * n; }
                case UINT32, INT32 -> { data = seg.asSlice(pos, 4L * n).toArray(U32); pos += 4L * n; }
                case FLOAT32 -> { data = seg.asSlice(pos, 4L * n).toArray(F32); pos += 4L * n; }
                case UINT64, INT64 -> { data = seg.asSlice(pos, 8L * n).toArray(U64); pos += 8L * n; }
                case FLOAT64 -> { data = seg.asSlice(pos, 8L * n).toArray(F64); pos += 8L * n; }
                case STRING -> data = strings(key, n);
                case ARRAY -> {
                    GgufArray[] a = new GgufArray[n];
                    for (int i = 0; i < n; i++) {
                        a[i] = array(key + "[" + i + "]", depth + 1);
                    }
                    data = a;
                }
                default -> throw new IllegalStateException();
            }
            return new GgufArray(et, n, data);
        }
    }
}
