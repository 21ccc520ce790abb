package dev.edgellm.core.model;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A loaded model: the mapped file, its config, tokenizer and weights on a backend, and the forward
 * pass of its architecture. Sessions ({@link #newSession}) hold the per-conversation state.
 */
public final class LanguageModel implements AutoCloseable {
    /** Default tokens per forward batch (prompt processing). */
    public static final int DEFAULT_BATCH = 64;

    private final GgufFile file;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final Backend backend;
    private final ModelWeights weights;
    private final ForwardPass pass;

    /** Progress of {@link #load(Path, Backend, LoadProgress)}: blocks of layers prepared on the backend so far. */
    @FunctionalInterface
    public interface LoadProgress {
        LoadProgress NONE = (done, total) -> { };

        /** {@code done} of {@code total} layers are prepared (called on the loading thread). */
        void layers(int done, int total);
    }

    private LanguageModel(GgufFile file, Backend backend, LoadProgress progress) {
        this.file = file;
        this.backend = backend;
        this.config = ModelConfig.fromGguf(file);
        this.tokenizer = Tokenizer.fromGguf(file.metadata());
        if (tokenizer.vocabSize() != config.vocabSize()) {
            throw new dev.edgellm.core.gguf.GgufFormatException(file.path() + ": the tokenizer has " + tokenizer.vocabSize()
                    + " tokens but token_embd.weight has " + config.vocabSize() + " rows");
        }
        this.weights = ModelWeights.load(file, config, backend, progress);
        ForwardPass p;
        try {
            p = switch (Architecture.of(config.architecture(), file.path().toString())) {
                case LLAMA -> new LlamaForward(config, weights);
                case GEMMA3 -> new Gemma3Forward(config, weights);
            };
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
        this.pass = p;
        // What the loader read (metadata, tensors repacked or uploaded, norms decoded) is no longer
        // needed in place; pages still read later (weights used in place) fault back in on demand.
        file.dropResidentPages();
    }

    /**
     * Maps a GGUF file and prepares its weights on {@code backend}. The backend stays owned by the
     * caller; closing the model releases what the backend holds for its weights (repacked copies,
     * device memory) and unmaps the file. Close the model's sessions first, and the backend after.
     */
    public static LanguageModel load(Path path, Backend backend) throws IOException {
        return load(path, backend, LoadProgress.NONE);
    }

    /** {@link #load(Path, Backend)}, reporting each layer prepared (for a progress line). */
    public static LanguageModel load(Path path, Backend backend, LoadProgress progress) throws IOException {
        GgufFile file = GgufFile.open(path);
        try {
            return new LanguageModel(file, backend, progress);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public Backend backend() {
        return backend;
    }

    public GgufFile file() {
        return file;
    }

    public ModelWeights weights() {
        return weights;
    }

    /** The architecture's forward pass (run block by block by {@link LayerStepper}). */
    ForwardPass pass() {
        return pass;
    }

    /** A session with the given context length (capped at the model's) and batch size; KV cache in f16. */
    public Session newSession(int contextLength, int maxBatch) {
        return new Session(this, Math.min(contextLength, config.contextLength()), maxBatch, true);
    }

    /**
     * A session with the KV cache in float32 instead of float16 ({@code f16Cache} false): the
     * engine's arithmetic is then float throughout for float weights (tests of exact equivalences).
     */
    public Session newSession(int contextLength, int maxBatch, boolean f16Cache) {
        return new Session(this, Math.min(contextLength, config.contextLength()), maxBatch, f16Cache);
    }

    /** A session over the model's full trained context. */
    public Session newSession() {
        return newSession(config.contextLength(), DEFAULT_BATCH);
    }

    /** Runs one batch, then the output head: logits of the last token, or of every token. */
    void forward(Session s, int[] tokens, int n, Session.LogitsConsumer every, int indexBase) {
        int last = pass.forward(s, tokens, n, every == null);
        s.position += n;
        int dim = config.dim();
        int vocab = config.vocabSize();
        // output projection (tied to the token embedding when the file has no output.weight)
        if (every == null) {
            backend.copy(s.x, last * dim, s.rows, 0, dim);
            backend.matmul(weights.output(), s.rows, s.logits, 1);
            backend.read(s.logits, 0, s.hostLogits, 0, vocab);
            return;
        }
        s.growLogitRows();
        for (int r0 = 0; r0 < n; r0 += Session.LOGIT_ROWS) {
            int rows = Math.min(Session.LOGIT_ROWS, n - r0);
            backend.copy(s.x, r0 * dim, s.rows, 0, rows * dim);
            backend.matmul(weights.output(), s.rows, s.logits, rows);
            for (int r = 0; r < rows; r++) {
                backend.read(s.logits, r * vocab, s.hostLogits, 0, vocab);
                every.accept(indexBase + r0 + r, s.hostLogits);
            }
        }
    }

    @Override
    public void close() {
        try {
            weights.close();
        } finally {
            file.close();
        }
    }
}
