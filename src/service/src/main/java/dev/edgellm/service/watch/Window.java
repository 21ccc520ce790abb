package dev.edgellm.service.watch;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * An open window of one watch: the records in arrival order within the byte budget, and the
 * statistics of every record it took. When the records' payloads exceed the budget the oldest
 * are folded away: they stay in the statistics and the counts, not verbatim. Not thread-safe:
 * the watch's lock guards it.
 */
final class Window {
    private final Instant start;
    private final long maxBytes;
    private final ArrayDeque<WatchRecord> records = new ArrayDeque<>();
    private final WindowStats stats = new WindowStats();
    private long bytes;
    private int folded;

    Window(Instant start, long maxBytes) {
        this.start = start;
        this.maxBytes = Math.max(1, maxBytes);
    }

    void add(WatchRecord r) {
        stats.add(r);
        records.addLast(r);
        bytes += r.bytes();
        while (bytes > maxBytes && records.size() > 1) {
            bytes -= records.removeFirst().bytes();
            folded++;
        }
    }

    Instant start() {
        return start;
    }

    /** Records taken (folded ones included). */
    int count() {
        return stats.total();
    }

    /** The window closed at {@code end}. */
    ClosedWindow close(Instant end, String trigger, WatchRecord triggeredBy) {
        return new ClosedWindow(start, end, trigger, triggeredBy, List.copyOf(new ArrayList<>(records)), stats, folded);
    }

    /**
     * A window that was closed: what is summarized.
     *
     * @param trigger     {@code schedule}, {@code count} or {@code condition}
     * @param triggeredBy the record that matched the condition, or null
     * @param records     the records kept verbatim (oldest first)
     * @param stats       statistics of every record taken
     * @param folded      records folded into the statistics by the byte budget
     */
    record ClosedWindow(Instant start, Instant end, String trigger, WatchRecord triggeredBy, List<WatchRecord> records, WindowStats stats,
                        int folded) {
        int total() {
            return stats.total();
        }
    }
}
