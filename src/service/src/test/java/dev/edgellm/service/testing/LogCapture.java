package dev.edgellm.service.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What the application under test logs (a {@link QuarkusTest} runs it in this JVM), from
 * {@link #start()} to {@link #close()}: a handler on the root logger of the log manager (JBoss
 * LogManager in tests, JUL's API), keeping each record's formatted message, level and exception.
 */
public final class LogCapture extends Handler implements AutoCloseable {
    /** A log record as logged: its text already formatted, and the exception logged with it, if any. */
    public record Line(Level level, String logger, String message, Throwable thrown) {
        /** The exception's text with its causes, or "" when none was logged. */
        public String thrownText() {
            StringBuilder sb = new StringBuilder();
            for (Throwable t = thrown; t != null; t = t.getCause()) {
                sb.append(t).append('\n');
            }
            return sb.toString();
        }
    }

    private final List<Line> lines = new ArrayList<>();

    private LogCapture() {
        setLevel(Level.ALL);
    }

    public static LogCapture start() {
        LogCapture c = new LogCapture();
        Logger.getLogger("").addHandler(c);
        return c;
    }

    @Override
    public void publish(LogRecord r) {
        String text = r instanceof org.jboss.logmanager.ExtLogRecord e ? e.getFormattedMessage() : r.getMessage();
        synchronized (lines) {
            lines.add(new Line(r.getLevel(), r.getLoggerName(), text, r.getThrown()));
        }
    }

    public List<Line> lines() {
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        Logger.getLogger("").removeHandler(this);
    }
}
