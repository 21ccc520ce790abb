package dev.edgellm.core.tokenizer;

import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes small tensor-less GGUF v3 files, for tokenizer metadata that the shared models do not cover. */
final class TinyGguf {
    private static final int UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9;

    private final Map<String, byte[]> kvs = new LinkedHashMap<>();

    /** A SentencePiece vocabulary: the given tokens, scores and types. */
    static TinyGguf spm(String[] tokens, float[] scores, int[] types) {
        return new TinyGguf().string("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", tokens)
                .floats("tokenizer.ggml.scores", scores).ints("tokenizer.ggml.token_type", types);
    }

    TinyGguf string(String key, String value) {
        Buf b = new Buf().u32(STRING).str(value);
        kvs.put(key, b.bytes());
        return this;
    }

    TinyGguf u32(String key, long value) {
        kvs.put(key, new Buf().u32(UINT32).u32((int) value).bytes());
        return this;
    }

    TinyGguf bool(String key, boolean value) {
        Buf b = new Buf().u32(BOOL);
        b.out.write(value ? 1 : 0);
        kvs.put(key, b.bytes());
        return this;
    }

    TinyGguf strings(String key, String[] values) {
        Buf b = new Buf().u32(ARRAY).u32(STRING).u64(values.length);
        for (String v : values) {
            b.str(v);
        }
        kvs.put(key, b.bytes());
        return this;
    }

    TinyGguf floats(String key, float[] values) {
        Buf b = new Buf().u32(ARRAY).u32(FLOAT32).u64(values.length);
        for (float v : values) {
            b.u32(Float.floatToRawIntBits(v));
        }
        kvs.put(key, b.bytes());
        return this;
    }

    TinyGguf ints(String key, int[] values) {
        Buf b = new Buf().u32(ARRAY).u32(INT32).u64(values.length);
        for (int v : values) {
            b.u32(v);
        }
        kvs.put(key, b.bytes());
        return this;
    }

    TinyGguf remove(String key) {
        kvs.remove(key);
        return this;
    }

    /** Writes the file into {@code dir} and returns its parsed metadata. */
    GgufMetadata metadata(Path dir) {
        Buf b = new Buf().u32(GgufFile.MAGIC).u32(3).u64(0).u64(kvs.size());
        for (Map.Entry<String, byte[]> e : kvs.entrySet()) {
            b.str(e.getKey());
            b.out.writeBytes(e.getValue());
        }
        while (b.out.size() % 32 != 0) {
            b.out.write(0);
        }
        try {
            Path file = Files.createTempFile(dir, "vocab", ".gguf");
            Files.write(file, b.bytes());
            try (GgufFile f = GgufFile.open(file)) {
                return f.metadata();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Builds a tokenizer from the file written into {@code dir}. */
    Tokenizer tokenizer(Path dir) {
        return Tokenizer.fromGguf(metadata(dir));
    }

    private static final class Buf {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Buf u32(int v) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        Buf u64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        Buf str(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            u64(bytes.length);
            out.writeBytes(bytes);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
