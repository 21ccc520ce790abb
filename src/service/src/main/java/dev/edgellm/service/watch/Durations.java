package dev.edgellm.service.watch;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import java.time.Duration;

/** Durations ({@code 10m}, {@code 500ms}, ISO {@code PT10M}) and sizes ({@code 256K}) as the configuration writes them. */
final class Durations {
    private Durations() {}

    static Duration parse(String field, String text) {
        try {
            Duration d = DurationConverter.parseDuration(text.strip());
            if (d == null) {
                throw new InvalidWatchException(field, "a duration is missing");
            }
            return d;
        } catch (IllegalArgumentException e) {
            throw new InvalidWatchException(field, "'" + text + "' is not a duration (10m, 30s, 500ms)");
        }
    }

    static long bytes(String field, String text) {
        try {
            return new MemorySizeConverter().convert(text.strip()).asLongValue();
        } catch (IllegalArgumentException e) {
            throw new InvalidWatchException(field, "'" + text + "' is not a size (256K, 1M)");
        }
    }

    /** {@code 10m}, {@code 5s}, {@code 300ms}: the shortest exact form. */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
