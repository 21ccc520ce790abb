package dev.edgellm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.testing.DiskFull;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code edgellm quantize} and {@code edgellm perplexity} on the command line: the happy path, and
 * every bad input of the acceptance as one line on stderr with exit 1 (2 for a bad command line).
 */
class QuantizeCommandTest {
    private static final Path SHARED = Path.of(System.getProperty("edgellm.shared.dir"));
    private static final String STORIES = SHARED.resolve("models/stories260K.gguf").toString();

    @TempDir
    Path dir;

    private static MainTest.Run run(String... args) {
        return MainTest.run(args);
    }

    private static void oneLine(MainTest.Run r, int code, String contains) {
        assertEquals(code, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("edgellm: "), r.err());
        assertTrue(r.err().contains(contains), r.err());
    }

    private List<String> files() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void quantizePrintsProgressAndTheSummaryTableThenPerplexityReadsTheFile() throws Exception {
        Path out = dir.resolve("q.gguf");
        MainTest.Run r = run("quantize", STORIES, out.toString(), "-t", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("[ 48/48]"), r.err());
        assertTrue(r.out().contains("err rtn") && r.out().contains("blk.4.ffn_up.weight") && r.out().contains("-> 277,120 bytes"), r.out());

        Path text = dir.resolve("text.txt");
        Files.writeString(text, String.join("\n", Files.readAllLines(SHARED.resolve("data/stories-calibration.txt")).subList(99, 130)));
        Path base = dir.resolve("base.kld");
        MainTest.Run ppl = run("perplexity", "-m", STORIES, "-f", text.toString(), "-c", "64", "--kl-base", base.toString(), "-t", "2");
        assertEquals(0, ppl.code(), ppl.err());
        assertTrue(ppl.out().startsWith("Final estimate: PPL = "), ppl.out());
        assertTrue(ppl.err().contains("[1/") && ppl.err().contains("saved the base"), ppl.err());
        MainTest.Run kl = run("perplexity", "-m", out.toString(), "--kl-base", base.toString(), "--kl-divergence", "-t", "2");
        assertEquals(0, kl.code(), kl.err());
        assertTrue(kl.out().contains("Mean    KLD:") && kl.out().contains("Same top p:") && kl.out().contains("99.0%   KLD:"), kl.out());
    }

    @Test
    void alreadyQuantizedInputIsRefused() throws Exception {
        MainTest.Run r = run("quantize", SHARED.resolve("models/gemma3-tiny-q4_0.gguf").toString(), dir.resolve("o.gguf").toString());
        oneLine(r, 1, "is already Q4_0");
        assertEquals(List.of(), files());
    }

    @Test
    void missingCalibrationFileIsRefused() throws Exception {
        MainTest.Run r = run("quantize", STORIES, dir.resolve("o.gguf").toString(), "--calibration", dir.resolve("none.txt").toString());
        oneLine(r, 1, "calibration file not found: " + dir.resolve("none.txt"));
        assertEquals(List.of(), files());
        oneLine(run("quantize", STORIES, dir.resolve("o.gguf").toString(), "--method", "gptq"), 2, "needs --calibration");
        oneLine(run("quantize", STORIES, dir.resolve("o.gguf").toString(), "--method", "magic"), 2, "unknown method 'magic'");
        oneLine(run("quantize", STORIES), 2, "IN.gguf OUT.gguf");
        oneLine(run("quantize", dir.resolve("missing.gguf").toString(), dir.resolve("o.gguf").toString()), 1, "model file not found");
    }

    @Test
    void anExistingOutputIsKeptUnlessForced() throws Exception {
        Path out = dir.resolve("exists.gguf");
        Files.writeString(out, "precious");
        oneLine(run("quantize", STORIES, out.toString()), 1, out + " exists (use --force to overwrite it)");
        assertEquals("precious", Files.readString(out));
        assertEquals(0, run("quantize", STORIES, out.toString(), "--force").code());
        assertTrue(Files.size(out) > 200_000);
        assertEquals(List.of("exists.gguf"), files());
    }

    @Test
    void aFullDiskLeavesNoPartialFile() throws Exception {
        Path out = dir.resolve("full.gguf");
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(e, true, StandardCharsets.UTF_8);
        int code = Main.guarded(err, () -> QuantizeCommand.run(new String[] {"quantize", STORIES, out.toString()},
                new PrintStream(o, true, StandardCharsets.UTF_8), err, DiskFull.after(150_000)));
        String stderr = e.toString(StandardCharsets.UTF_8);
        String last = stderr.strip().lines().reduce((a, b) -> b).orElse("");
        assertEquals(1, code, stderr);
        assertEquals("edgellm: I/O error: cannot write " + out + ": No space left on device (nothing was written there)", last);
        assertEquals(List.of(), files(), "no partial or temporary file");
    }

    @Test
    void perplexityBadInputs() throws Exception {
        oneLine(run("perplexity", "-m", STORIES), 2, "--file");
        oneLine(run("perplexity", "-m", STORIES, "--kl-divergence"), 2, "--kl-base");
        oneLine(run("perplexity", "-m", STORIES, "-f", dir.resolve("no.txt").toString()), 1, "text file not found");
        Path shortText = dir.resolve("short.txt");
        Files.writeString(shortText, "Once upon a time.");
        oneLine(run("perplexity", "-m", STORIES, "-f", shortText.toString(), "-c", "128"), 1, "needs at least 256");
        oneLine(run("perplexity", "-m", STORIES, "--kl-base", shortText.toString(), "--kl-divergence"), 1, "_logits_");
    }
}
