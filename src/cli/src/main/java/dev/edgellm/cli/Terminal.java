package dev.edgellm.cli;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Whether standard error is a terminal. The {@code ./edgellm} launcher knows (it filters the JVM's
 * stderr through a pipe, so the JVM itself sees a pipe) and says so in {@code edgellm.stderr.tty};
 * without it, {@code isatty(2)} answers. {@code TERM=dumb} counts as no terminal.
 */
final class Terminal {
    static final String PROPERTY = "edgellm.stderr.tty";

    private Terminal() {}

    static boolean stderrIsTty() {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) {
            return Boolean.parseBoolean(p.strip());
        }
        return isatty(2);
    }

    /** The C library's {@code isatty(fd)}; false where it cannot be called. */
    static boolean isatty(int fd) {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle h = linker.downcallHandle(linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) h.invokeExact(fd) == 1;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Columns of the terminal: {@code COLUMNS} when the shell exports it, else 80. */
    static int columns() {
        try {
            int c = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80").strip());
            return c >= 20 ? c : 80;
        } catch (NumberFormatException e) {
            return 80;
        }
    }
}
