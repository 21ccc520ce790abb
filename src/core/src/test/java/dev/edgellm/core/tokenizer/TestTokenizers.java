package dev.edgellm.core.tokenizer;

import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Tokenizers of the shared models, loaded once per test JVM (the Gemma vocabulary has 262,144 tokens). */
final class TestTokenizers {
    static final String GEMMA = "gemma3-tiny-q4_0.gguf";
    static final String LLAMA_SPM = "llama-spm-vocab.gguf";
    static final String STORIES = "stories260K.gguf";

    private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

    private TestTokenizers() {}

    static Tokenizer load(String model) {
        return CACHE.computeIfAbsent(model, m -> {
            try (GgufFile f = GgufFile.open(SharedFiles.model(m))) {
                return Tokenizer.fromGguf(f.metadata());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static Tokenizer gemma() {
        return load(GEMMA);
    }

    static Tokenizer llamaSpm() {
        return load(LLAMA_SPM);
    }

    static Tokenizer stories() {
        return load(STORIES);
    }

    /** Java-escaped rendering of a test input for display names and messages. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }
}
