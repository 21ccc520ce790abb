package dev.edgellm.service.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.summary.SummaryPrompt;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Windows: counts and statistics over every record, the byte budget, and the reduction of a window too large for the prompt. */
class WindowTest {
    static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");

    static WatchRecord rec(int i, String topic, Map<String, Object> fields) {
        return new WatchRecord(T0.plusMillis(i * 100L), topic, WatchRecord.Kind.JSON, fields, 100);
    }

    @Test
    void statisticsCoverEveryRecordAndTheByteBudgetFoldsTheOldest() {
        Window w = new Window(T0, 1000); // ten records of 100 bytes
        for (int i = 0; i < 25; i++) {
            w.add(rec(i, "site/d" + (i % 2) + "/telemetry", Map.of("temp", (double) i, "state", i % 5 == 0 ? "off" : "on")));
        }
        Window.ClosedWindow c = w.close(T0.plusSeconds(5), "schedule", null);
        assertEquals(25, c.total());
        assertEquals(10, c.records().size());
        assertEquals(15, c.folded());
        assertEquals(24.0, c.records().getLast().fields().get("temp"), "the newest are kept");
        assertEquals(Map.of("site/d0/telemetry", 13, "site/d1/telemetry", 12), c.stats().perTopic());
        Map<String, Object> temp = c.stats().fields().get("temp");
        assertEquals(0.0, temp.get("min"));
        assertEquals(24.0, temp.get("max"));
        assertEquals(12.0, temp.get("mean"));
        assertEquals(24.0, temp.get("last"));
        assertEquals("2", c.stats().fields().get("state").get("distinct"));
        assertTrue(c.stats().render().contains("Field temp: 25 values, min 0, max 24, mean 12, last 24"), c.stats().render());
    }

    /** A stand-in for the engine's prompt builder: one token per character, records trimmed oldest-first like {@link SummaryPrompt}. */
    static SummaryPrompt.Built fake(String instructions, String text, List<Map<String, Object>> records, int budget) {
        int fixed = instructions.length() + text.length();
        int keep = records.size();
        while (keep > 0 && fixed + 20 * keep > budget) {
            keep--;
        }
        return new SummaryPrompt.Built(new int[fixed + 20 * keep], "", records.size(), keep, text.length(), text.length());
    }

    @Test
    void aWindowThatFitsGoesInWholeAndOneThatDoesNotIsReducedThenTrimmed() {
        Window w = new Window(T0, 1 << 20);
        for (int i = 0; i < 50; i++) {
            w.add(rec(i, "site/d" + (i % 4) + "/telemetry", Map.of("temp", (double) i)));
        }
        Window.ClosedWindow c = w.close(T0.plusSeconds(5), "schedule", null);
        WindowPrompt.Prepared whole = WindowPrompt.prepare(c, "x", 100_000, WindowTest::fake);
        assertNull(whole.reduced());
        assertEquals(50, whole.built().recordsUsed());
        WindowPrompt.Prepared small = WindowPrompt.prepare(c, "x", 800, WindowTest::fake);
        Map<String, Object> how = small.reduced();
        assertEquals(50, how.get("records_total"));
        int verbatim = (Integer) how.get("records_verbatim");
        assertTrue(verbatim > 0 && verbatim < 50, how.toString());
        assertEquals(50 - verbatim, how.get("records_trimmed_oldest"));
        assertTrue(small.built().tokens().length <= 800);
        assertTrue(how.get("summary").toString().contains("statistics"), how.toString());
    }
}
