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

/** The on-disk cache of responses: survives a restart, keeps to its window and size, shrugs off a torn last line. */
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

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void responsesSurviveARestartOfTheProcess(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 100, clock, JSON)) {
            c.put("a", b("{\"id\":\"a\",\"text\":\"é\\n\"}"));
            c.put("b", b("{\"id\":\"b\"}"));
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 100, clock, JSON)) {
            assertArrayEquals(b("{\"id\":\"a\",\"text\":\"é\\n\"}"), c.get("a").orElseThrow().payload());
            assertTrue(c.get("b").isPresent());
            assertTrue(c.get("c").isEmpty());
        }
    }

    @Test
    void entriesExpireAfterTheWindowAndTheOldestGoBeyondTheSize(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 3, clock, JSON)) {
            c.put("old", b("1"));
            clock.now = clock.now.plus(Duration.ofMinutes(11));
            assertTrue(c.get("old").isEmpty(), "outside the window");
            for (String id : new String[] {"w", "x", "y", "z"}) {
                c.put(id, b(id));
            }
            assertTrue(c.get("w").isEmpty(), "the oldest beyond the size");
            assertEquals(3, c.count());
            for (int i = 0; i < 20; i++) {
                c.put("k" + i, b("v" + i)); // compacts the file on the way
            }
            assertTrue(Files.readAllLines(dir.resolve(ResponseCache.FILE)).size() <= 7, "the file is compacted");
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 3, clock, JSON)) {
            assertEquals(3, c.count());
            assertArrayEquals(b("v19"), c.get("k19").orElseThrow().payload());
        }
    }

    @Test
    void aLineCutShortByACrashIsSkipped(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            c.put("a", b("A"));
        }
        Files.writeString(dir.resolve(ResponseCache.FILE), "{\"id\":\"b\",\"at\":17", StandardOpenOption.APPEND);
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertArrayEquals(b("A"), c.get("a").orElseThrow().payload());
            assertTrue(c.get("b").isEmpty());
            c.put("c", b("C"));
        }
        try (ResponseCache c = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertTrue(c.get("c").isPresent(), "writes after the torn line are read back");
        }
    }

    @Test
    void aSecondProcessOnTheSameDirectoryKeepsToMemory(@TempDir Path dir) throws Exception {
        TestClock clock = new TestClock();
        try (ResponseCache first = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON);
             ResponseCache second = ResponseCache.open(dir, Duration.ofMinutes(10), 10, clock, JSON)) {
            assertEquals(dir.resolve(ResponseCache.FILE), first.file());
            assertEquals(null, second.file(), "the directory is held by the first");
            second.put("x", b("X"));
            assertTrue(first.get("x").isEmpty());
        }
    }
}
