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
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
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
 * Recent responses, so a duplicate delivery of a request is answered again instead of generated
 * again. An entry is keyed by the reply topic and the request id together (another client reusing
 * an id on its own reply topic is a different request) and remembers a hash of the request payload,
 * so the caller can tell a copy of the same request from a different request under the same id.
 *
 * <p>Bounded by a time window and a count (the oldest go first), and kept in an append-only file
 * ({@code responses.jsonl}, one JSON line per response, written and flushed before the response is
 * published) so that a request redelivered after a crash of the service (answered, but not yet
 * acknowledged to the broker) is still recognized. Loading reads line by line: a line that is not
 * UTF-8, not JSON or incomplete (a torn write) is skipped and counted, the rest is kept, and the
 * file is rewritten clean (renamed into place, then the directory is synced so the rename itself
 * survives a power cut). The file is compacted when it holds twice the count. Thread-safe.
 */
public final class ResponseCache implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ResponseCache.class);
    static final String FILE = "responses.jsonl";

    /** A cached response: the payload as published, for the request {@code id} answered on {@code replyTopic}. */
    public record Entry(String replyTopic, String id, String requestHash, long atMillis, byte[] payload) {}

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
    private int skipped;

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
        byte[] all = Files.readAllBytes(file);
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        int from = 0;
        while (from < all.length) {
            int nl = from;
            while (nl < all.length && all[nl] != '\n') {
                nl++;
            }
            boolean complete = nl < all.length;
            int lineStart = from;
            from = nl + 1;
            if (nl == lineStart) {
                continue;
            }
            if (!complete) {
                skipped++; // the last write was cut short
                break;
            }
            try {
                String line = utf8.decode(ByteBuffer.wrap(all, lineStart, nl - lineStart)).toString();
                JsonNode n = json.readTree(line);
                String id = n.path("id").asText(null);
                String reply = n.path("reply").asText(null);
                String hash = n.path("hash").asText(null);
                long at = n.path("at").asLong(-1);
                JsonNode p = n.get("payload");
                if (id == null || reply == null || hash == null || at < 0 || p == null || !p.isTextual()) {
                    skipped++;
                    continue;
                }
                if (at >= oldest) {
                    String k = key(reply, id);
                    entries.remove(k);
                    entries.put(k, new Entry(reply, id, hash, at, p.asText().getBytes(StandardCharsets.UTF_8)));
                }
            } catch (IOException | RuntimeException e) {
                skipped++;
            }
        }
        trim();
        if (skipped > 0) {
            LOG.warnf("%s: skipped %d unreadable line(s) (a write cut short by a crash, or a damaged file); kept %d response(s), rewriting it",
                    file, skipped, entries.size());
        }
    }

    /** Lines of the file that could not be read when it was opened. */
    public int skippedLines() {
        return skipped;
    }

    private static String key(String replyTopic, String id) {
        return replyTopic + '\u0000' + id;
    }

    /** The response to request {@code id} on {@code replyTopic}, if it was given within the window. */
    public synchronized Optional<Entry> get(String replyTopic, String id) {
        String k = key(replyTopic, id);
        Entry e = entries.get(k);
        if (e == null) {
            return Optional.empty();
        }
        if (e.atMillis() < clock.millis() - window.toMillis()) {
            entries.remove(k);
            return Optional.empty();
        }
        return Optional.of(e);
    }

    /** Remembers a response (in the file first, flushed, then in memory). */
    public synchronized void put(String replyTopic, String id, String requestHash, byte[] payload) {
        Entry e = new Entry(replyTopic, id, requestHash, clock.millis(), payload);
        String id0 = key(replyTopic, id);
        if (channel != null) {
            try {
                append(e, true);
                lines++;
            } catch (IOException ex) {
                LOG.warnf("could not write %s (%s); this response is remembered in memory only", file, ex);
            }
        }
        entries.remove(id0);
        entries.put(id0, e);
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
        n.put("reply", e.replyTopic());
        n.put("hash", e.requestHash());
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
        syncDirectory(file.getParent());
        lines = entries.size();
        channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /** Makes a rename in {@code dir} durable (POSIX: fsync the directory); a no-op where directories cannot be opened. */
    static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debugf("cannot sync directory %s: %s", dir, e);
        }
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
