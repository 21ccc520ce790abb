package dev.edgellm.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * llama.cpp's tokenizer test vectors ({@code models/ggml-vocab-*.gguf.inp/.out}), checked the way
 * {@code tests/test-tokenizer-0.cpp} checks them: the .inp file is split on
 * {@code "\n__ggml_vocab_test__\n"} (a trailing separator adds no empty input), line i of .out holds
 * the ids of input i, and each input is tokenized with {@code common_tokenize(ctx, text,
 * add_special = false, parse_special = false)}.
 */
class TokenizerLlamaCppVectorsTest {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    /** One input and its expected ids; {@code toString} is the display name. */
    record Vector(String set, int index, String input, int[] expected) {
        @Override
        public String toString() {
            String shown = TestTokenizers.escape(input);
            return String.format("#%02d '%s'", index, shown.length() > 60 ? shown.substring(0, 60) + "..." : shown);
        }
    }

    static List<Vector> read(String set) {
        try {
            String raw = Files.readString(SharedFiles.reference("tokenizer/" + set + ".inp"), StandardCharsets.UTF_8);
            List<String> out = Files.readAllLines(SharedFiles.reference("tokenizer/" + set + ".out"), StandardCharsets.UTF_8);
            List<String> inputs = new ArrayList<>();
            int pos = 0;
            while (pos < raw.length()) {
                int next = raw.indexOf(SEPARATOR, pos);
                if (next < 0) {
                    inputs.add(raw.substring(pos));
                    break;
                }
                inputs.add(raw.substring(pos, next));
                pos = next + SEPARATOR.length();
            }
            if (inputs.size() != out.size()) {
                throw new IllegalStateException(set + ": " + inputs.size() + " inputs but " + out.size() + " output lines");
            }
            List<Vector> vectors = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                String line = out.get(i).strip();
                int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
                vectors.add(new Vector(set, i, inputs.get(i), ids));
            }
            return vectors;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Vector> gemmaVectors() {
        return read("gemma").stream();
    }

    static Stream<Vector> llamaSpmVectors() {
        return read("llama-spm").stream();
    }

    @ParameterizedTest(name = "gemma {0}")
    @MethodSource("gemmaVectors")
    void gemma(Vector v) {
        check(TestTokenizers.gemma(), v);
    }

    @ParameterizedTest(name = "llama-spm {0}")
    @MethodSource("llamaSpmVectors")
    void llamaSpm(Vector v) {
        check(TestTokenizers.llamaSpm(), v);
    }

    private static void check(Tokenizer tok, Vector v) {
        int[] got = tok.encode(v.input(), false, false);
        assertArrayEquals(v.expected(), got, () -> v.set() + " " + v + "\n expected " + Arrays.toString(v.expected()) + "\n got      "
                + Arrays.toString(got));
    }

    @Test
    void vectorFilesSplitLikeTestTokenizer0() {
        // gemma.inp has no separator after its last input, llama-spm.inp has one: both hold 46 inputs.
        assertEquals(46, read("gemma").size());
        assertEquals(46, read("llama-spm").size());
        assertEquals("", read("gemma").get(2).input());
        assertEquals("\t\n", read("gemma").get(10).input());
    }
}
