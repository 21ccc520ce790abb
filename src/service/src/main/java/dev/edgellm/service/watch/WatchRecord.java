package dev.edgellm.service.watch;

import java.time.Instant;
import java.util.Map;

/**
 * One message as a window keeps it: when and where it arrived, what kind of payload it had, and
 * the extracted fields (for a text payload {@code text}, for a malformed one {@code malformed}).
 *
 * @param bytes the payload's size, counted against the window's byte budget
 */
public record WatchRecord(Instant at, String topic, Kind kind, Map<String, Object> fields, int bytes) {
    /** What the payload was. */
    public enum Kind {
        /** JSON: the extracted fields. */
        JSON,
        /** Not JSON but text: kept as {@code text}. */
        TEXT,
        /** Broken JSON or not text at all: counted, kept as {@code malformed} (its start). */
        MALFORMED
    }
}
