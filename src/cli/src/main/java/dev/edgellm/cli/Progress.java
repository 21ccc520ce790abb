package dev.edgellm.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A progress line on standard error for long commands: {@code label [#####.....]  45%  9/20 units
 * 3.2 s, about 4 s left}, redrawn in place (carriage return) at most ten times a second. Only on a
 * terminal: when stderr is a file or a pipe nothing is written, so logs and scripts see only the
 * commands' own lines. A delayed line appears only once the work has run that long (a model load
 * under 2 s shows nothing). The command's own lines go through {@link #lines()}, which clears the
 * bar before each write so the two never mix.
 */
final class Progress implements AutoCloseable {
    static final Duration LOAD_DELAY = Duration.ofSeconds(2);
    static final long REDRAW_NANOS = 100_000_000L;
    private static final int BAR = 20;

    private final PrintStream err;
    private final boolean enabled;
    private final String unit;
    private final long delayNanos;
    private final LongSupplier clock;
    private final long start;
    private final int columns;
    private String label;
    private long lastDraw = Long.MIN_VALUE;
    private int drawnLength;
    private long done;
    private long total;

    Progress(PrintStream err, boolean enabled, String label, String unit, Duration delay, LongSupplier clock, int columns) {
        this.err = err;
        this.enabled = enabled;
        this.label = label;
        this.unit = unit;
        this.delayNanos = delay.toNanos();
        this.clock = clock;
        this.start = clock.getAsLong();
        this.columns = columns;
    }

    /** A progress line shown at once, when {@code err} is this process's stderr and a terminal. */
    static Progress of(PrintStream err, String label, String unit) {
        return of(err, label, unit, Duration.ZERO);
    }

    /** A progress line that appears once the work has taken {@code delay}. */
    static Progress of(PrintStream err, String label, String unit, Duration delay) {
        return new Progress(err, err == System.err && Terminal.stderrIsTty(), label, unit, delay, System::nanoTime, Terminal.columns());
    }

    /** Changes what the line says it is doing (e.g. the bench run). */
    synchronized void label(String l) {
        this.label = l;
    }

    /** {@code done} of {@code total} units are done. */
    synchronized void update(long done, long total) {
        this.done = done;
        this.total = total;
        if (!enabled) {
            return;
        }
        long now = clock.getAsLong();
        if (now - start < delayNanos) {
            return;
        }
        if (drawnLength > 0 && now - lastDraw < REDRAW_NANOS && done < total) {
            return;
        }
        lastDraw = now;
        draw(now);
    }

    private void draw(long now) {
        double elapsed = (now - start) / 1e9;
        double f = total > 0 ? Math.min(1, (double) done / total) : 0;
        int filled = (int) Math.round(f * BAR);
        StringBuilder sb = new StringBuilder(label).append(" [").append("#".repeat(filled)).append(".".repeat(BAR - filled)).append("] ");
        sb.append(String.format(Locale.ROOT, "%3d%%  %d/%d %s  %.1f s", Math.round(f * 100), done, total, unit, elapsed));
        if (done > 0 && done < total) {
            sb.append(String.format(Locale.ROOT, ", about %.0f s left", elapsed * (total - done) / done));
        }
        String line = sb.length() >= columns ? sb.substring(0, columns - 1) : sb.toString();
        err.print("\r" + line + " ".repeat(Math.max(0, drawnLength - line.length())));
        err.flush();
        drawnLength = line.length();
    }

    /** Clears the line (if it was drawn); the next update draws it again. */
    synchronized void erase() {
        if (drawnLength > 0) {
            err.print("\r" + " ".repeat(drawnLength) + "\r");
            err.flush();
            drawnLength = 0;
        }
    }

    /** A stream for the command's own lines: the bar is cleared before each write. */
    PrintStream lines() {
        if (!enabled) {
            return err;
        }
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (Progress.this) {
                    erase();
                    err.write(b, off, len);
                }
            }

            @Override
            public void flush() {
                err.flush();
            }
        }, true, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        erase();
    }
}
