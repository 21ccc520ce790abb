package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Recent responses by request id, so a duplicate delivery of a request is answered again instead
 * of generated again. Bounded by a time window and a count (the oldest go first), and kept in an
 * append-only file ({@code responses.jsonl}, one JSON line per response, written and flushed
 * before the response is published) so that a request redelivered after a crash of the service
 * (answered, but not yet acknowledged to the broker) is still recognized. The file is compacted
 * when it holds twice the count; a torn last line (the process died while writing) is skipped.
 * Thread-safe.
 */
public final class ResponseCache implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ResponseCache.class);
    static final String FILE = "responses.jsonl";

    /** A cached response: the payload as published. */
    public record Entry(String id, long atMillis, byte[] payload) {}

    private final Path file;
    private final Duration window;
    private final int size;
    private final Clock clock;
    private final ObjectMapper json;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    private FileChannel channel;
    private FileChannel lockChannel;
    private FileLock lock;
    private int lines;

    private ResponseCache(Path file, Duration window, int size, Clock clock, ObjectMapper json) {
        this.file = file;
        this.window = window;
        this.size = Math.max(1, size);
        this.clock = clock;
        this.json = json;
    }

    /** A cache in memory only (no directory, or another process holds it). */
    public static ResponseCache inMemory(Duration window, int size, Clock clock, ObjectMapper json) {
        return new ResponseCache(null, window, size, clock, json);
    }

    /**
     * Opens (or creates) the cache in {@code dir}, loading the responses still within the window.
     * When another process holds the directory, the cache stays in memory and says so in the log.
     */
    public static ResponseCache open(Path dir, Duration window, int size, Clock clock, ObjectMapper json) throws IOException {
        Files.createDirectories(dir);
        ResponseCache c = new ResponseCache(dir.resolve(FILE), window, size, clock, json);
        c.lockChannel = FileChannel.open(dir.resolve("responses.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            c.lock = c.lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            c.lock = null;
        }
        if (c.lock == null) {
            LOG.warnf("%s is in use by another process (same node id and state directory?); duplicate detection keeps to memory", dir);
            c.lockChannel.close();
            return inMemory(window, size, clock, json);
        }
        c.load();
        c.rewrite();
        return c;
    }

    private void load() throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        long oldest = clock.millis() - window.toMillis();
        int skipped = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode n = json.readTree(line);
                String id = n.path("id").asText(null);
                long at = n.path("at").asLong(-1);
                JsonNode p = n.get("payload");
                if (id == null || at < 0 || p == null || !p.isTextual()) {
                    skipped++;
                    continue;
                }
                if (at >= oldest) {
                    entries.remove(id);
                    entries.put(id, new Entry(id, at, p.asText().getBytes(StandardCharsets.UTF_8)));
                }
            } catch (IOException e) {
                skipped++;
            }
        }
        trim();
        if (skipped > 0) {
            LOG.infof("%s: skipped %d unreadable line(s) (a write cut short by a crash)", file, skipped);
        }
    }

    /** The response to {@code id}, if it was given within the window. */
    public synchronized Optional<Entry> get(String id) {
        Entry e = entries.get(id);
        if (e == null) {
            return Optional.empty();
        }
        if (e.atMillis() < clock.millis() - window.toMillis()) {
            entries.remove(id);
            return Optional.empty();
        }
        return Optional.of(e);
    }

    /** Remembers a response (in the file first, flushed, then in memory). */
    public synchronized void put(String id, byte[] payload) {
        Entry e = new Entry(id, clock.millis(), payload);
        if (channel != null) {
            try {
                append(e, true);
                lines++;
            } catch (IOException ex) {
                LOG.warnf("could not write %s (%s); this response is remembered in memory only", file, ex);
            }
        }
        entries.remove(id);
        entries.put(id, e);
        trim();
        if (channel != null && lines > 2 * size) {
            try {
                rewrite();
            } catch (IOException ex) {
                LOG.warnf("could not compact %s: %s", file, ex);
            }
        }
    }

    public synchronized int count() {
        return entries.size();
    }

    /** Where the cache lives; null in memory. */
    public Path file() {
        return file;
    }

    private void trim() {
        long oldest = clock.millis() - window.toMillis();
        Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Entry e = it.next().getValue();
            if (entries.size() > size || e.atMillis() < oldest) {
                it.remove();
            } else {
                break;
            }
        }
    }

    private void append(Entry e, boolean force) throws IOException {
        ObjectNode n = json.createObjectNode();
        n.put("id", e.id());
        n.put("at", e.atMillis());
        n.put("payload", new String(e.payload(), StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap((json.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            channel.write(b);
        }
        if (force) {
            channel.force(false);
        }
    }

    /** Writes the live entries to a new file and swaps it in atomically. */
    private void rewrite() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
        Path tmp = file.resolveSibling(FILE + ".tmp");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            channel = out;
            for (Entry e : List.copyOf(entries.values())) {
                append(e, false);
            }
            out.force(false);
        } finally {
            channel = null;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        lines = entries.size();
        channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    @Override
    public synchronized void close() {
        try {
            if (channel != null) {
                channel.close();
            }
            if (lock != null) {
                lock.release();
            }
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            channel = null;
        }
    }
}
