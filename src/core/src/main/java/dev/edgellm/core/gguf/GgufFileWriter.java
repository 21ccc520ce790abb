package dev.edgellm.core.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF v3 file the way llama.cpp lays one out: header (magic, version, counts), metadata,
 * tensor infos, padding to the alignment, then each tensor's data padded to the alignment.
 *
 * <p>The layout is fixed when the writer is created (every tensor's type and shape is known), so
 * tensor data can be written in any order ({@link #writeTensor}). Nothing appears at the target path
 * until {@link #commit()}: the file is written to a temporary file beside it, flushed to disk and
 * renamed over the target. Closing without a commit, or any failure (a full disk), deletes the
 * temporary file, so a failed write never leaves a partial model behind.
 */
public final class GgufFileWriter implements AutoCloseable {

    /** A tensor to write: name, type and ggml dims ({@code dims[0]} is the row length). */
    public record TensorSpec(String name, GgmlType type, long[] dims) {
        public TensorSpec {
            dims = dims.clone();
        }

        public long elements() {
            long n = 1;
            for (long d : dims) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        /** Bytes of the data (without padding). */
        public long byteSize() {
            return type.byteSize(elements());
        }
    }

    /** Where the bytes go; the default writes a {@link FileChannel}. Tests use it to make writes fail. */
    public interface Sink extends AutoCloseable {
        /** Writes all of {@code src} at byte {@code position}. */
        void write(ByteBuffer src, long position) throws IOException;

        /** Forces written bytes to the storage device. */
        void force() throws IOException;

        /** Maps written bytes read-only into {@code arena}; not every sink can. */
        default MemorySegment map(long position, long size, Arena arena) throws IOException {
            throw new UnsupportedOperationException("this sink cannot map what it wrote");
        }

        @Override
        void close() throws IOException;
    }

    /** Opens the sink for the temporary file (created empty before the call). */
    @FunctionalInterface
    public interface SinkOpener {
        Sink open(Path file) throws IOException;
    }

    /** The default: a {@link FileChannel} opened for writing. */
    public static final SinkOpener FILE_CHANNEL = file -> {
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new Sink() {
            @Override
            public MemorySegment map(long position, long size, Arena arena) throws IOException {
                return ch.map(FileChannel.MapMode.READ_ONLY, position, size, arena);
            }

            @Override
            public void write(ByteBuffer src, long position) throws IOException {
                long p = position;
                while (src.hasRemaining()) {
                    p += ch.write(src, p);
                }
            }

            @Override
            public void force() throws IOException {
                ch.force(true);
            }

            @Override
            public void close() throws IOException {
                ch.close();
            }
        };
    };


    private final Path target;
    private final boolean overwrite;
    private final Path temp;
    private final Sink sink;
    private final List<TensorSpec> tensors;
    private final Map<String, Integer> index = new HashMap<>();
    private final long[] offsets;
    private final boolean[] written;
    private final int alignment;
    private final long dataOffset;
    private final long fileSize;
    private final Arena arena = Arena.ofShared();
    private boolean committed;
    private boolean closed;

    private GgufFileWriter(Path target, boolean overwrite, Path temp, Sink sink, List<TensorSpec> tensors, int alignment,
                           byte[] header) throws IOException {
        this.target = target;
        this.overwrite = overwrite;
        this.temp = temp;
        this.sink = sink;
        this.tensors = List.copyOf(tensors);
        this.alignment = alignment;
        this.offsets = new long[tensors.size()];
        this.written = new boolean[tensors.size()];
        long cursor = 0;
        for (int i = 0; i < tensors.size(); i++) {
            offsets[i] = cursor;
            cursor += align(tensors.get(i).byteSize(), alignment);
            index.put(tensors.get(i).name(), i);
        }
        // a file without tensors ends with its header (as vocabulary-only GGUF files do)
        this.dataOffset = tensors.isEmpty() ? header.length : align(header.length, alignment);
        this.fileSize = dataOffset + cursor;
        ByteBuffer h = ByteBuffer.allocate(Math.toIntExact(dataOffset));
        h.put(header);
        h.flip().limit(h.capacity());
        sink.write(h, 0);
    }

    /**
     * Creates the temporary file beside {@code target} and writes the header.
     *
     * @param overwrite replace {@code target} if it exists (else it is an error, checked now and at
     *                  {@link #commit()})
     * @param metadata  key/value pairs in file order; {@code general.alignment}, when present, sets the
     *                  alignment (else 32)
     * @param tensors   tensor infos in file order
     * @throws FileAlreadyExistsException when {@code target} exists and {@code overwrite} is false
     */
    public static GgufFileWriter create(Path target, boolean overwrite, List<GgufMetadata.Entry> metadata, List<TensorSpec> tensors)
            throws IOException {
        return create(target, overwrite, metadata, tensors, FILE_CHANNEL);
    }

    /** {@link #create(Path, boolean, List, List)} through a custom sink (tests). */
    public static GgufFileWriter create(Path target, boolean overwrite, List<GgufMetadata.Entry> metadata, List<TensorSpec> tensors,
                                        SinkOpener opener) throws IOException {
        checkTarget(target, overwrite);
        int alignment = alignmentOf(metadata);
        byte[] header = GgufHeaderEncoder.header(metadata, tensors, alignment);
        Path temp = createTemp(target);
        Sink sink = null;
        try {
            sink = opener.open(temp);
            return new GgufFileWriter(target, overwrite, temp, sink, tensors, alignment, header);
        } catch (IOException e) {
            closeQuietly(sink);
            Files.deleteIfExists(temp);
            throw failure(target, e);
        } catch (RuntimeException e) {
            closeQuietly(sink);
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /**
     * An empty, hidden temporary file beside {@code target}. Unlike {@link Files#createTempFile} it
     * gets the permissions any new file gets (the umask's), which the renamed model keeps.
     */
    public static Path createTemp(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        java.security.SecureRandom random = new java.security.SecureRandom();
        for (int attempt = 0; ; attempt++) {
            Path p = abs.resolveSibling("." + abs.getFileName() + "." + Long.toUnsignedString(random.nextLong(), 36) + ".part");
            try {
                return Files.createFile(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    /** Refuses an existing target unless overwriting is allowed; also refuses a directory. */
    public static void checkTarget(Path target, boolean overwrite) throws IOException {
        if (Files.isDirectory(target)) {
            throw new FileAlreadyExistsException(target.toString(), null, "is a directory");
        }
        if (!overwrite && Files.exists(target)) {
            throw new FileAlreadyExistsException(target.toString(), null, "exists (use --force to overwrite it)");
        }
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new java.nio.file.NoSuchFileException(String.valueOf(dir), null, "output directory does not exist");
        }
    }

    /** The data alignment in use. */
    public int alignment() {
        return alignment;
    }

    /** Absolute offset where tensor data begins. */
    public long dataOffset() {
        return dataOffset;
    }

    /** Size of the finished file. */
    public long fileSize() {
        return fileSize;
    }

    public List<TensorSpec> tensors() {
        return tensors;
    }

    /** Writes the data of tensor {@code name} (exactly its size), followed by zero padding. */
    public void writeTensor(String name, MemorySegment data) throws IOException {
        Integer i = index.get(name);
        if (i == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' in this file");
        }
        TensorSpec t = tensors.get(i);
        if (data.byteSize() != t.byteSize()) {
            throw new IllegalArgumentException("tensor '" + name + "' is " + t.byteSize() + " bytes of " + t.type() + " " + Arrays.toString(t.dims())
                    + ", got " + data.byteSize());
        }
        if (written[i]) {
            throw new IllegalStateException("tensor '" + name + "' was already written");
        }
        long at = dataOffset + offsets[i];
        for (long done = 0; done < data.byteSize(); ) {
            int len = (int) Math.min(1 << 24, data.byteSize() - done);
            write(data.asSlice(done, len).asByteBuffer(), at + done);
            done += len;
        }
        long pad = align(t.byteSize(), alignment) - t.byteSize();
        if (pad > 0) {
            write(ByteBuffer.allocate((int) pad), at + t.byteSize());
        }
        written[i] = true;
    }

    /** Writes tensor {@code name} from a byte array. */
    public void writeTensor(String name, byte[] data) throws IOException {
        writeTensor(name, MemorySegment.ofArray(data));
    }

    /**
     * The data of a tensor already written, mapped read-only from the file being written (so a
     * caller can use what it wrote without keeping it on the heap). Valid until commit or close.
     */
    public MemorySegment written(String name) throws IOException {
        Integer i = index.get(name);
        if (i == null || !written[i]) {
            throw new IllegalStateException("tensor '" + name + "' has not been written");
        }
        if (closed) {
            throw new IllegalStateException("the writer is closed");
        }
        TensorSpec t = tensors.get(i);
        if (t.byteSize() == 0) {
            return MemorySegment.ofArray(new byte[0]);
        }
        return sink.map(dataOffset + offsets[i], t.byteSize(), arena).asReadOnly();
    }

    /**
     * Flushes the file to disk and renames it to the target.
     *
     * @throws IllegalStateException when a tensor was not written
     */
    public void commit() throws IOException {
        for (int i = 0; i < written.length; i++) {
            if (!written[i]) {
                throw new IllegalStateException("tensor '" + tensors.get(i).name() + "' was never written");
            }
        }
        try {
            sink.force();
            sink.close();
            closeArena();
            if (!overwrite && Files.exists(target)) {
                throw new FileAlreadyExistsException(target.toString(), null, "appeared while writing (use --force to overwrite it)");
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            committed = true;
        } catch (FileAlreadyExistsException e) {
            throw e;
        } catch (IOException e) {
            throw failure(target, e);
        } finally {
            if (!committed) {
                close();
            }
        }
        closed = true;
    }

    /** Without a commit: discards the temporary file. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(sink);
        closeArena();
        if (!committed) {
            Files.deleteIfExists(temp);
        }
    }

    private void closeArena() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    private void write(ByteBuffer b, long position) throws IOException {
        try {
            sink.write(b, position);
        } catch (IOException e) {
            throw failure(target, e);
        }
    }

    private static IOException failure(Path target, IOException e) {
        String reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return new IOException("cannot write " + target + ": " + reason + " (nothing was written there)", e);
    }

    private static void closeQuietly(Sink s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // the write already failed or is being abandoned
            }
        }
    }

    static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }

    private static int alignmentOf(List<GgufMetadata.Entry> metadata) {
        for (GgufMetadata.Entry e : metadata) {
            if (e.key().equals("general.alignment")) {
                if (!(e.value() instanceof Long l) || l <= 0 || l > (1 << 20) || Long.bitCount(l) != 1) {
                    throw new IllegalArgumentException("general.alignment must be a power of two up to 2^20, got " + e.value());
                }
                return (int) (long) l;
            }
        }
        return GgufFile.DEFAULT_ALIGNMENT;
    }

    /** Helpers to build metadata entries that are not read from a file. */
    public static GgufMetadata.Entry u32(String key, long value) {
        return new GgufMetadata.Entry(key, GgufValueType.UINT32, value, -1);
    }

    public static GgufMetadata.Entry string(String key, String value) {
        return new GgufMetadata.Entry(key, GgufValueType.STRING, value, -1);
    }

    /** {@code entries} with {@code e} replacing the entry of the same key in place, or appended. */
    public static List<GgufMetadata.Entry> with(List<GgufMetadata.Entry> entries, GgufMetadata.Entry e) {
        List<GgufMetadata.Entry> out = new ArrayList<>(entries);
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).key().equals(e.key())) {
                out.set(i, e);
                return out;
            }
        }
        out.add(e);
        return out;
    }
}
