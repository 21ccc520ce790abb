package dev.edgellm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI contract: output formats, and one clear stderr line with a non-zero exit on errors. */
class MainTest {
    private static final Path SHARED = Path.of(System.getProperty("edgellm.shared.dir"));
    private static final String STORIES = SHARED.resolve("models/stories260K.gguf").toString();
    private static final String GEMMA = SHARED.resolve("models/gemma3-tiny-q4_0.gguf").toString();

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static JsonNode reference(String name) throws Exception {
        return new ObjectMapper().readTree(SHARED.resolve("reference/" + name + ".llama-cpp.json").toFile());
    }

    @Test
    void inspectPrintsMetadataAndTensors() {
        Run r = run("inspect", GEMMA);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("gemma3.attention.sliding_window"), r.out());
        assertTrue(r.out().contains("token_embd.weight"), r.out());
        assertTrue(r.out().contains("Q4_0"), r.out());
    }

    @Test
    void inspectJsonIsValidJson() throws Exception {
        Run r = run("inspect", STORIES, "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(3, j.get("version").asInt());
        assertEquals(48, j.get("tensors").size());
        assertEquals("llama", j.get("metadata").get("general.architecture").get("value").asText());
        assertEquals(512, j.get("metadata").get("tokenizer.ggml.tokens").get("value").get("length").asInt());
    }

    @Test
    void tokenizeMatchesReferenceTokens() throws Exception {
        JsonNode c = reference("gemma3-tiny-q4_0").get("cases").get(2); // the chat-formatted prompt
        Run r = run("tokenize", "-m", GEMMA, "--text", c.get("text").asText(), "--special");
        assertEquals(0, r.code(), r.err());
        StringBuilder expected = new StringBuilder();
        c.get("tokens").forEach(t -> expected.append(expected.isEmpty() ? "" : " ").append(t.asInt()));
        assertEquals(expected.toString(), r.out().strip());
        // without --special the markers are plain text
        Run plain = run("tokenize", "-m", GEMMA, "--text", "<start_of_turn>");
        assertTrue(!plain.out().strip().equals("2 105"), plain.out());
    }

    @Test
    void generateIdsEqualsReferenceGreedy() throws Exception {
        JsonNode c = reference("stories260K").get("cases").get(0);
        Run r = run("generate", "-m", STORIES, "--prompt", c.get("text").asText(), "-n", "64", "--temperature", "0", "--ids", "-t", "2");
        assertEquals(0, r.code(), r.err());
        StringBuilder expected = new StringBuilder();
        c.get("greedy").forEach(t -> expected.append(expected.isEmpty() ? "" : " ").append(t.asInt()));
        assertEquals(expected.toString(), r.out().strip());
    }

    @Test
    void generateStreamsText() throws Exception {
        JsonNode c = reference("stories260K").get("cases").get(0);
        Run r = run("generate", "-m", STORIES, "--prompt", c.get("text").asText(), "-n", "64", "--temperature", "0");
        assertEquals(0, r.code(), r.err());
        assertEquals(c.get("greedy_text").asText().strip(), r.out().strip());
    }

    @Test
    void seededSamplingIsReproducible() {
        Run a = run("generate", "-m", STORIES, "--prompt", "Once upon a time", "-n", "20", "--temperature", "0.9", "--seed", "42", "--ids");
        Run b = run("generate", "-m", STORIES, "--prompt", "Once upon a time", "-n", "20", "--temperature", "0.9", "--seed", "42", "--ids");
        Run c = run("generate", "-m", STORIES, "--prompt", "Once upon a time", "-n", "20", "--temperature", "0.9", "--seed", "7", "--ids");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        assertTrue(!a.out().equals(c.out()), "different seeds should differ: " + a.out());
    }

    @Test
    void logitsEmitsOneJsonLinePerPrompt(@TempDir Path dir) throws Exception {
        JsonNode ref = reference("stories260K");
        Run r = run("logits", "-m", STORIES, "--prompts", SHARED.resolve("reference/stories-prompts.txt").toString(), "--top-k", "10");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(ref.get("cases").size(), lines.size());
        ObjectMapper om = new ObjectMapper();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode ours = om.readTree(lines.get(i));
            JsonNode c = ref.get("cases").get(i);
            assertEquals(c.get("tokens"), ours.get("tokens"));
            assertEquals(c.get("tokens").size(), ours.get("topk").size());
            for (int p = 0; p < ours.get("topk").size(); p++) {
                JsonNode top = ours.get("topk").get(p);
                assertEquals(10, top.size());
                assertEquals(c.get("topk").get(p).get(0).get(0).asInt(), top.get(0).get(0).asInt(), "top-1 at position " + p);
                assertEquals(c.get("topk").get(p).get(0).get(1).asDouble(), top.get(0).get(1).asDouble(), 0.05);
            }
        }
    }

    @Test
    void unescapesPromptFiles() {
        assertEquals("a\nb\tc\\d", LogitsCommand.unescape("a\\nb\\tc\\\\d"));
    }

    @Test
    void missingModelIsOneLineError() {
        Run r = run("generate", "-m", "/nonexistent/model.gguf", "--prompt", "hi");
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("/nonexistent/model.gguf"), r.err());
    }

    @Test
    void unknownOptionIsUsageError() {
        Run r = run("generate", "-m", STORIES, "--prompt", "hi", "--bogus");
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--bogus"), r.err());
    }

    @Test
    void unknownCommandAndBackendAreErrors() {
        assertEquals(2, run("frobnicate").code());
        Run r = run("generate", "-m", STORIES, "--prompt", "hi", "--backend", "nope");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown backend 'nope'"), r.err());
    }

    @Test
    void badModelIsOneLineError(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.gguf");
        byte[] head = Files.readAllBytes(Path.of(STORIES));
        Files.write(bad, java.util.Arrays.copyOf(head, 5000)); // truncated
        Run r = run("generate", "-m", bad.toString(), "--prompt", "hi");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("edgellm: bad model:"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        Run notGguf = run("inspect", dir.resolve("bad.gguf").getParent().resolve("x").toString());
        assertEquals(1, notGguf.code());
    }

    @Test
    void benchReportsJson() throws Exception {
        Run r = run("bench", "-m", STORIES, "-p", "16", "-n", "8", "-r", "2", "-t", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("backend").asText().length() > 0);
        assertEquals(1, j.get("threads").asInt());
        assertTrue(j.get("pp_tps").asDouble() > 0 && j.get("tg_tps").asDouble() > 0 && j.get("tg_after_prompt_tps").asDouble() > 0, r.out());
        assertTrue(j.get("ttft_ms").asDouble() > 0 && j.get("load_ms").asDouble() > 0, r.out());
        assertEquals(16, j.get("n_prompt").asInt());
    }

    @Test
    void fitJsonAndCatalog() throws Exception {
        Run r = run("fit", "-m", GEMMA, "--ctx", "1024", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("fits", j.get("verdict").asText());
        assertEquals(1024, j.get("context").asInt());
        Run small = run("fit", "-m", GEMMA, "--memory", "100m", "--json");
        assertEquals(3, small.code(), small.err());
        assertEquals("does_not_fit", new ObjectMapper().readTree(small.out()).get("verdict").asText());
        Run cat = run("fit", "--catalog", "--json");
        assertEquals(0, cat.code(), cat.err());
        var models = new ObjectMapper().readTree(cat.out()).get("models");
        assertEquals(5 * 6, models.size(), "5 Gemma 3 sizes x BF16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K");
        boolean q4km1b = false;
        for (var m : models) {
            if (m.get("model").asText().equals("gemma-3-1b") && m.get("type").asText().equals("Q4_K_M")) {
                q4km1b = true;
                // llama-quantize's Q4_K_M of the 1B shape (/tmp build of the shared synthetic file) is 799,525,120 bytes
                assertEquals(799_525_120L, m.get("weights_bytes").asLong(), 2_000_000L);
                assertEquals(6.40, m.get("bits_per_weight").asDouble(), 0.01);
            }
        }
        assertTrue(q4km1b, "the catalog lists gemma-3-1b Q4_K_M");
        assertEquals(2, run("fit", "--catalog", "--memory", "lots").code());
    }
}
