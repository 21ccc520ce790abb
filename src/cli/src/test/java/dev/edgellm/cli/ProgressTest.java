package dev.edgellm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.testing.SharedFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The progress line: drawn in place on a terminal, throttled, delayed when asked, and nothing at all elsewhere. */
class ProgressTest {
    final AtomicLong now = new AtomicLong();
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    Progress progress(boolean tty, Duration delay) {
        return new Progress(err, tty, "bench", "tokens", delay, now::get, 80);
    }

    String written() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void onATerminalTheLineIsRedrawnInPlaceAndClearedAtTheEnd() {
        try (Progress p = progress(true, Duration.ZERO)) {
            p.update(0, 20);
            now.addAndGet(TimeUnit.SECONDS.toNanos(1));
            p.update(5, 20);
            assertTrue(written().endsWith("\rbench [#####...............]  25%  5/20 tokens  1.0 s, about 3 s left"), written());
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10));
            p.update(6, 20); // within 100 ms of the last draw: not drawn
            assertFalse(written().contains("6/20"), written());
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(100));
            p.update(20, 20);
            assertTrue(written().contains("100%  20/20 tokens"), written());
            assertFalse(written().contains("\n"), "never a newline of its own");
        }
        assertTrue(written().matches("(?s).*\r +\r$"), "cleared at the end: " + written().replace("\r", "<CR>"));
    }

    @Test
    void notOnATerminalNothingIsWritten() {
        try (Progress p = progress(false, Duration.ZERO)) {
            p.update(1, 2);
            p.update(2, 2);
            p.lines().println("a line of the command's own");
        }
        assertEquals("a line of the command's own\n", written());
    }

    @Test
    void aDelayedLineAppearsOnlyAfterTheDelay() {
        try (Progress p = progress(true, Progress.LOAD_DELAY)) {
            p.update(3, 26);
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1900));
            p.update(20, 26);
            assertEquals("", written(), "a load under 2 s shows nothing");
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(200));
            p.update(21, 26);
            assertTrue(written().contains("21/26"), written());
        }
    }

    @Test
    void theCommandsOwnLinesClearTheBarFirst() {
        try (Progress p = progress(true, Duration.ZERO)) {
            p.update(1, 4);
            p.lines().println("[1/4] PPL 12.5");
            String w = written();
            int line = w.indexOf("[1/4] PPL");
            assertTrue(w.substring(0, line).matches("(?s)\rbench .*\r +\r"), "the bar is erased before the line: " + w.replace("\r", "<CR>"));
            now.addAndGet(TimeUnit.SECONDS.toNanos(1));
            p.update(2, 4);
            assertTrue(written().endsWith("2/4 tokens  1.0 s, about 1 s left"), "and drawn again after it");
        }
    }

    /**
     * Under a real pseudo-terminal ({@code script}) {@code edgellm bench} draws its progress line;
     * with stderr in a file it writes none.
     */
    @Test
    void benchShowsProgressOnARealTerminalOnly() throws Exception {
        Path script = Path.of("/usr/bin/script");
        Assumptions.assumeTrue(Files.isExecutable(script), "script (util-linux) gives a pseudo-terminal");
        Path model = SharedFiles.model("stories260K.gguf");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "dev.edgellm.cli.Main", "bench", "-m", model.toString(),
                "-p", "32", "-n", "32", "-r", "2", "-t", "1", "--backend", "scalar"));
        Path typescript = Files.createTempFile("edgellm-tty", ".txt");
        String line = String.join(" ", cmd.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").toList());
        Process tty = new ProcessBuilder(script.toString(), "-qec", line, typescript.toString()).redirectErrorStream(true).start();
        String shown = new String(tty.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, tty.waitFor(), shown);
        assertTrue(shown.contains("\rbench "), "a progress line on the terminal: " + shown.replace("\r", "<CR>"));
        assertTrue(shown.contains("tg32"), shown);

        Path errFile = Files.createTempFile("edgellm-err", ".txt");
        Process piped = new ProcessBuilder(cmd).redirectError(errFile.toFile()).start();
        String out = new String(piped.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, piped.waitFor());
        assertTrue(out.contains("tg32"), out);
        String errText = Files.readString(errFile);
        assertFalse(errText.contains("\r") || errText.contains("bench ["), "nothing but the JVM's own lines when stderr is a file: " + errText);
    }
}
