package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-disk cache of responses: survives a restart, keeps to its window and size, shrugs off torn and damaged lines. */
class ResponseCacheTest {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A clock the test moves. */
    static final class TestClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    static final String R = "edgellm/n/responses";

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void responsesSurviveARestartOfTheProcess(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 100, clock, JSON)) {
            c.put(R, "a", "h", b("{\"id\":\"a\",\"text\":\"é\\n\"}"));
            c.put(R, "b", "h", b("{\"id\":\"b\"}"));
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 100, clock, JSON)) {
            assertArrayEquals(b("{\"id\":\"a\",\"text\":\"é\\n\"}"), c.get(R, "a").orElseThrow().payload());
            assertTrue(c.get(R, "b").isPresent());
            assertTrue(c.get(R, "c").isEmpty());
        }
    }

    @Test
    void entriesExpireAfterTheWindowAndTheOldestGoBeyondTheSize(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 3, clock, JSON)) {
            c.put(R, "old", "h", b("1"));
            clock.now = clock.now.plus(Duration.ofMinutes(11));
            assertTrue(c.get(R, "old").isEmpty(), "outside the window");
            for (String id : new String[] {"w", "x", "y", "z"}) {
                c.put(R, id, "h", b(id));
            }
            assertTrue(c.get(R, "w").isEmpty(), "the oldest beyond the size");
            assertEquals(3, c.count());
            for (int i = 0; i < 20; i++) {
                c.put(R, "k" + i, "h", b("v" + i)); // compacts the file on the way
            }
            assertTrue(Files.readAllLines(dir.resolve(ResponseCache.FILE)).size() <= 7, "the file is compacted");
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 3, clock, JSON)) {
            assertEquals(3, c.count());
            assertArrayEquals(b("v19"), c.get(R, "k19").orElseThrow().payload());
        }
    }

    @Test
    void aLineCutShortByACrashIsSkipped(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            c.put(R, "a", "h", b("A"));
        }
        Files.writeString(dir.resolve(ResponseCache.FILE), "{\"id\":\"b\",\"at\":17", StandardOpenOption.APPEND);
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertArrayEquals(b("A"), c.get(R, "a").orElseThrow().payload());
            assertTrue(c.get(R, "b").isEmpty());
            c.put(R, "c", "h", b("C"));
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertTrue(c.get(R, "c").isPresent(), "writes after the torn line are read back");
        }
    }

    @Test
    void aSecondProcessOnTheSameDirectoryKeepsToMemory(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache first = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON);
             ResponseCache second = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertEquals(dir.resolve(ResponseCache.FILE), first.file());
            assertEquals(null, second.file(), "the directory is held by the first");
            second.put(R, "x", "h", b("X"));
            assertTrue(first.get(R, "x").isEmpty());
        }
    }

    /**
     * A write torn in the middle of a multi-byte character (and a damaged line in the middle) made
     * the whole file unreadable (MalformedInputException), so the cache fell back to memory on
     * every restart. Now only the bad lines go, and the file is rewritten clean.
     */
    @Test
    void aTornMultiByteCharacterOrADamagedLineCostsOnlyThatLine(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            c.put(R, "a", "h", b("{\"text\":\"é\"}"));
        }
        Path f = dir.resolve(ResponseCache.FILE);
        byte[] good = Files.readAllBytes(f);
        byte[] damaged = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', '}', '\n'};
        byte[] torn = "{\"id\":\"b\",\"payload\":\"".getBytes(StandardCharsets.UTF_8);
        try (var out = Files.newOutputStream(f)) {
            out.write(damaged);
            out.write(good);
            out.write(torn);
            out.write((byte) 0xC3); // the first byte of a two-byte character, then the crash
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertEquals(dir.resolve(ResponseCache.FILE), c.file(), "still on disk, not memory only");
            assertEquals(2, c.skippedLines());
            assertArrayEquals(b("{\"text\":\"é\"}"), c.get(R, "a").orElseThrow().payload());
            c.put(R, "c", "h", b("C"));
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertEquals(0, c.skippedLines(), "the file was rewritten clean");
            assertTrue(c.get(R, "a").isPresent() && c.get(R, "c").isPresent());
        }
    }

    @Test
    void entriesAreKeyedByReplyTopicAndIdAndRememberTheRequestHash(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            c.put("client-1/replies", "c1", "hash-1", b("one"));
            c.put("client-2/replies", "c1", "hash-2", b("two"));
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertArrayEquals(b("one"), c.get("client-1/replies", "c1").orElseThrow().payload());
            assertEquals("hash-2", c.get("client-2/replies", "c1").orElseThrow().requestHash());
            assertTrue(c.get("client-3/replies", "c1").isEmpty());
        }
    }
}
