package dev.edgellm.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The prompts of the llama.cpp reference runs ({@code shared/reference/*.llama-cpp.json}): the
 * prompt ids (with BOS; Gemma's with special tokens parsed), each token's piece as llama.cpp
 * rendered it, and the text llama.cpp printed for the greedy continuation.
 */
class TokenizerReferenceCasesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Case(String model, int index, String text, int[] tokens, List<String> pieces, int[] greedy, String greedyText) {
        @Override
        public String toString() {
            String shown = TestTokenizers.escape(text);
            return String.format("%s #%d '%s'", model, index, shown.length() > 50 ? shown.substring(0, 50) + "..." : shown);
        }

        Tokenizer tokenizer() {
            return TestTokenizers.load(model);
        }
    }

    static List<Case> read(String model, String json) {
        try {
            JsonNode root = JSON.readTree(SharedFiles.reference(json).toFile());
            assertEquals(model, root.get("model").asText());
            List<Case> cases = new ArrayList<>();
            int i = 0;
            for (JsonNode c : root.get("cases")) {
                List<String> pieces = new ArrayList<>();
                c.get("pieces").forEach(p -> pieces.add(p.asText()));
                cases.add(new Case(model, i++, c.get("text").asText(), JSON.convertValue(c.get("tokens"), int[].class), pieces,
                        JSON.convertValue(c.get("greedy"), int[].class), c.get("greedy_text").asText()));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Case> gemmaCases() {
        return read(TestTokenizers.GEMMA, "gemma3-tiny-q4_0.llama-cpp.json");
    }

    static List<Case> storiesCases() {
        return read(TestTokenizers.STORIES, "stories260K.llama-cpp.json");
    }

    static Stream<Case> allCases() {
        return Stream.concat(gemmaCases().stream(), storiesCases().stream());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void promptTokensWithSpecialTokensParsed(Case c) {
        int[] got = c.tokenizer().encode(c.text(), true, true);
        assertArrayEquals(c.tokens(), got, () -> c + "\n expected " + Arrays.toString(c.tokens()) + "\n got      " + Arrays.toString(got));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("storiesCases")
    void storiesPromptsDoNotDependOnParseSpecial(Case c) {
        assertArrayEquals(c.tokens(), c.tokenizer().encode(c.text(), true, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void piecesAsLlamaCppRendersThem(Case c) {
        Tokenizer tok = c.tokenizer();
        for (int i = 0; i < c.tokens().length; i++) {
            int id = c.tokens()[i];
            assertEquals(c.pieces().get(i), new String(tok.pieceBytes(id, true), StandardCharsets.UTF_8), "piece of token " + id);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allCases")
    void greedyContinuationDecodesToLlamaCppText(Case c) {
        assertEquals(c.greedyText(), c.tokenizer().decode(c.greedy(), false));
        StreamDecoder sd = c.tokenizer().streamDecoder(false);
        StringBuilder sb = new StringBuilder();
        for (int id : c.greedy()) {
            sb.append(sd.accept(id));
        }
        sb.append(sd.flush());
        assertEquals(c.greedyText(), sb.toString());
    }

    @Test
    void gemmaChatPromptNeedsParseSpecial() {
        Case chat = gemmaCases().stream().filter(c -> c.text().contains("<start_of_turn>")).findFirst().orElseThrow();
        Tokenizer tok = chat.tokenizer();
        int[] literal = tok.encode(chat.text(), true, false);
        assertTrue(literal.length > chat.tokens().length, "without parseSpecial <start_of_turn> is spelled out in ordinary pieces");
        assertTrue(Arrays.stream(literal).noneMatch(id -> id == 105 || id == 106));
    }

    @Test
    void encodingTheLongestGemmaPromptTakesMilliseconds() {
        Case longest = gemmaCases().stream().max(Comparator.comparingInt(c -> c.text().length())).orElseThrow();
        Tokenizer tok = longest.tokenizer();
        for (int i = 0; i < 200; i++) {
            tok.encode(longest.text(), true, true); // warm up the JIT
        }
        int runs = 200;
        long best = Long.MAX_VALUE;
        long total = 0;
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            int[] ids = tok.encode(longest.text(), true, true);
            long dt = System.nanoTime() - t0;
            best = Math.min(best, dt);
            total += dt;
            assertEquals(longest.tokens().length, ids.length);
        }
        System.out.printf("encode of the longest gemma prompt (%d chars, %d tokens): best %.3f ms, mean %.3f ms over %d runs%n",
                longest.text().length(), longest.tokens().length, best / 1e6, total / 1e6 / runs, runs);
        assertTrue(total / runs < 50_000_000L, "mean encode time " + total / runs / 1e6 + " ms");
    }
}
