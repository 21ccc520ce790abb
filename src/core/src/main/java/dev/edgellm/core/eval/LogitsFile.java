package dev.edgellm.core.eval;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The base-model log-probabilities file of {@code llama-perplexity --kl-divergence-base}, in its
 * format, so files from either tool work with the other: {@code "_logits_"}, {@code n_ctx},
 * {@code n_vocab}, {@code n_chunk} (int32), the {@code n_chunk * n_ctx} evaluation tokens (int32),
 * then for every scored position {@code nv = 2*((n_vocab+1)/2) + 4} uint16s: the float scale and
 * the float minimum log-probability, then each token's log-probability quantized to 16 bits
 * ({@code log p = scale * q + min}, clamped 16 nats below the top), all little-endian.
 */
public final class LogitsFile {
    static final byte[] MAGIC = "_logits_".getBytes(StandardCharsets.US_ASCII);

    private LogitsFile() {}

    /** uint16s per scored position. */
    static int stride(int vocab) {
        return 2 * ((vocab + 1) / 2) + 4;
    }

    /** Writes a base file through a temporary file renamed at {@link #commit()}. */
    public static final class Writer implements AutoCloseable {
        private final Path target;
        private final Path temp;
        private final OutputStream out;
        private final int vocab;
        private final ByteBuffer row;
        private boolean committed;

        public Writer(Path target, int ctx, int vocab, int chunks, int[] tokens) throws IOException {
            this.target = target;
            this.temp = dev.edgellm.core.gguf.GgufFileWriter.createTemp(target);
            this.out = new BufferedOutputStream(Files.newOutputStream(temp), 1 << 16);
            this.vocab = vocab;
            this.row = ByteBuffer.allocate(2 * stride(vocab)).order(ByteOrder.LITTLE_ENDIAN);
            try {
                ByteBuffer h = ByteBuffer.allocate(8 + 12 + 4 * chunks * ctx).order(ByteOrder.LITTLE_ENDIAN);
                h.put(MAGIC).putInt(ctx).putInt(vocab).putInt(chunks);
                for (int i = 0; i < chunks * ctx; i++) {
                    h.putInt(tokens[i]);
                }
                out.write(h.array());
            } catch (IOException | RuntimeException e) {
                close();
                throw e;
            }
        }

        /**
         * Appends one position's log-probabilities from its logits (llama-perplexity's
         * {@code log_softmax} with a {@code log_prob} output); returns the negative log-likelihood of {@code tok}.
         */
        public double append(float[] logits, int tok) throws IOException {
            float max = logits[0];
            float min = logits[0];
            for (int i = 1; i < vocab; i++) {
                max = Math.max(max, logits[i]);
                min = Math.min(min, logits[i]);
            }
            min = Math.max(min, max - 16);
            double sumExp = 0;
            for (int i = 0; i < vocab; i++) {
                sumExp += (float) Math.exp(logits[i] - max);
            }
            float logSumExp = (float) Math.log(sumExp);
            float minLogProb = min - max - logSumExp;
            float scale = (max - min) / 65535f;
            row.clear();
            row.putFloat(scale).putFloat(minLogProb);
            if (scale != 0f) {
                float inv = 1 / scale;
                for (int i = 0; i < vocab; i++) {
                    row.putShort((short) (logits[i] > min ? (int) Math.rint(inv * (logits[i] - min)) : 0));
                }
            } else {
                for (int i = 0; i < vocab; i++) {
                    row.putShort((short) 0);
                }
            }
            while (row.hasRemaining()) {
                row.putShort((short) 0);
            }
            out.write(row.array());
            return max + logSumExp - logits[tok];
        }

        public void commit() throws IOException {
            out.close();
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            committed = true;
        }

        @Override
        public void close() throws IOException {
            if (!committed) {
                try {
                    out.close();
                } finally {
                    Files.deleteIfExists(temp);
                }
            }
        }
    }

    /** Reads a base file: the header at once, then one chunk's log-probabilities at a time. */
    public static final class Reader implements AutoCloseable {
        private final Path path;
        private final DataInputStream in;
        private final int ctx;
        private final int vocab;
        private final int chunks;
        private final int[] tokens;
        private final byte[] chunk;

        public Reader(Path path) throws IOException {
            this.path = path;
            InputStream raw = new BufferedInputStream(Files.newInputStream(path), 1 << 16);
            this.in = new DataInputStream(raw);
            try {
                byte[] magic = new byte[8];
                in.readFully(magic);
                if (!java.util.Arrays.equals(magic, MAGIC)) {
                    throw new IllegalArgumentException(path + " is not a base log-probabilities file (no \"_logits_\" magic at offset 0)");
                }
                ByteBuffer h = ByteBuffer.wrap(in.readNBytes(12)).order(ByteOrder.LITTLE_ENDIAN);
                if (h.remaining() < 12) {
                    throw new EOFException();
                }
                ctx = h.getInt();
                vocab = h.getInt();
                chunks = h.getInt();
                if (ctx < 4 || vocab < 1 || chunks < 1 || (long) ctx * chunks > Integer.MAX_VALUE / 4) {
                    throw new IllegalArgumentException(path + ": implausible header (n_ctx " + ctx + ", n_vocab " + vocab + ", n_chunk " + chunks + ")");
                }
                long expected = 20L + 4L * ctx * chunks + 2L * stride(vocab) * (ctx - 1 - ctx / 2) * chunks;
                if (Files.size(path) != expected) {
                    throw new IllegalArgumentException(path + " is " + Files.size(path) + " bytes; n_ctx " + ctx + ", n_vocab " + vocab + " and n_chunk "
                            + chunks + " make " + expected + " (truncated or not a base file)");
                }
                ByteBuffer t = ByteBuffer.wrap(in.readNBytes(4 * ctx * chunks)).order(ByteOrder.LITTLE_ENDIAN);
                tokens = new int[ctx * chunks];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = t.getInt();
                }
                chunk = new byte[2 * stride(vocab) * (ctx - 1 - ctx / 2)];
            } catch (EOFException e) {
                in.close();
                throw new IllegalArgumentException(path + " is truncated (header)");
            } catch (IOException | RuntimeException e) {
                in.close();
                throw e;
            }
        }

        public int context() {
            return ctx;
        }

        public int vocab() {
            return vocab;
        }

        public int chunks() {
            return chunks;
        }

        /** The evaluation tokens, {@code chunks * context} of them. */
        public int[] tokens() {
            return tokens;
        }

        /** The next chunk's log-probabilities: positions x {@link LogitsFile#stride} uint16s, little-endian. */
        ByteBuffer nextChunk() throws IOException {
            try {
                in.readFully(chunk);
            } catch (EOFException e) {
                throw new IllegalArgumentException(path + " is truncated (chunk data)");
            }
            return ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
