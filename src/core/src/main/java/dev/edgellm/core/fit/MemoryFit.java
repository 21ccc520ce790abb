package dev.edgellm.core.fit;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.model.Session;
import java.util.EnumMap;
import java.util.Map;

/**
 * Memory arithmetic from the GGUF header alone (no weight is read): weights by type, KV cache for a
 * context, compute scratch and runtime overhead, against a budget.
 *
 * <p>Weights count once, whichever way the backend holds them: read in place from the mapping, or
 * repacked into its own memory (the vector backend's copy drops the mapped pages as it goes, so the
 * two never add up; its Q4_0/Q8_0 copy has the file's bytes, its Q5_0 and K-quant copies more, and
 * padding to whole 32-row groups: counted at the copy's size below), or uploaded to a device.
 */
public final class MemoryFit {
    /** JVM baseline of the engine (heap in use, metaspace, code cache, thread stacks). */
    public static final long DEFAULT_RUNTIME_OVERHEAD = 96L << 20;
    /**
     * Tokenizer tables per vocabulary entry: the piece's UTF-8 bytes and end offset, two index
     * slots, the score and type (the metadata's arrays and the tokenizer's), attributes. Measured:
     * ~10 MB of heap for Gemma 3's 262,144 tokens.
     */
    static final long TOKENIZER_BYTES_PER_TOKEN = 48;
    /** The shortest context worth running. */
    public static final int MIN_CONTEXT = 256;

    private MemoryFit() {}

    /** Rows of the widest repacked row group (the vector backend's, at 512 bits). */
    static final int REPACK_ROWS = 32;

    /**
     * Bytes of tensor data per type, from tensor infos, as the largest resident copy a backend
     * makes: the types the vector backend repacks (Q4_0, Q8_0, Q5_0, Q4_K, Q5_K, Q6_K) count their
     * rows rounded up to whole {@value #REPACK_ROWS}-row groups (zero padding, which real models
     * with rows in multiples of 32 do not need) at {@link #repackedBytesPerBlock} bytes per row and
     * block; the others their file bytes.
     */
    public static Map<GgmlType, Long> weightsByType(GgufFile file) {
        Map<GgmlType, Long> m = new EnumMap<>(GgmlType.class);
        for (GgufTensor t : file.tensors().values()) {
            long bytes = t.byteSize();
            if (t.rows() > 1 && repacked(t.type()) && t.cols() % t.type().blockSize() == 0) {
                long groups = (t.rows() + REPACK_ROWS - 1) / REPACK_ROWS;
                bytes = groups * REPACK_ROWS * (long) (t.cols() / t.type().blockSize()) * repackedBytesPerBlock(t.type());
            }
            m.merge(t.type(), bytes, Long::sum);
        }
        return m;
    }

    /** Whether the vector backend keeps its own copy of matrices of {@code type}. */
    static boolean repacked(GgmlType type) {
        return switch (type) {
            case Q4_0, Q8_0, Q5_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /**
     * Bytes per row and block of the vector backend's repacked copy ({@code PackedWeight},
     * {@code PackedKWeight}; pinned against them by the vector module's tests): Q4_0, Q5_0 and Q8_0
     * keep the file's bytes (18, 22, 34), the K-quants unpack their 6-bit scales (Q4_K 152 against
     * 144, Q5_K 184 against 176) and Q6_K its 6-bit quants (276 against 210).
     */
    public static int repackedBytesPerBlock(GgmlType type) {
        return switch (type) {
            case Q4_K -> 152;
            case Q5_K -> 184;
            case Q6_K -> 276;
            default -> type.bytesPerBlock();
        };
    }

    /** KV cache bytes of a session (f16), as {@link Session} will allocate it. */
    public static long kvCacheBytes(ModelConfig c, int context, int batch) {
        return Session.kvSpec(c, context, Math.min(batch, context), true).byteSize();
    }

    /** Scratch of a session and its backend: activations of a batch, logits, sampler, quantized copies. */
    public static long scratchBytes(ModelConfig c, int batch) {
        long perToken = 2L * c.dim() + (long) c.heads() * c.keyDim() + (long) c.kvHeads() * (c.keyDim() + c.valueDim())
                + (long) c.heads() * c.valueDim() + 2L * c.ffnDim();
        long activations = 4L * batch * perToken;
        // the output head's row and logits, and the host copy; every position's logits (the CLI's
        // logits command, never the service) take 15 rows more, allocated when first asked for
        long logits = 4L * (c.dim() + (long) c.vocabSize()) + 4L * c.vocabSize();
        long sampler = 12L * c.vocabSize();
        long widest = Math.max(Math.max(c.dim(), c.ffnDim()), c.heads() * c.valueDim());
        // quantized copy of the activations (the vector backend's Q8_0 quants widened to 2 bytes,
        // twice for Q4_0; Q8_0/Q8_1 scales and sums per 32, Q8_K sums per 16) and an
        // f16/bf16-rounded copy (4 bytes)
        long quantized = (long) batch * widest * 8 + (long) batch * widest / 32 * 8 + (long) batch * widest / 16 * 2;
        return activations + logits + sampler + quantized;
    }

    /** The estimate for a model at a context. */
    public static MemoryEstimate estimate(ModelConfig c, Map<GgmlType, Long> weights, int context, int batch, long runtimeOverhead) {
        long overhead = runtimeOverhead + TOKENIZER_BYTES_PER_TOKEN * c.vocabSize();
        return new MemoryEstimate(weights, context, kvCacheBytes(c, context, batch), scratchBytes(c, batch), overhead);
    }

    /** Estimate for a GGUF file (header only). */
    public static MemoryEstimate estimate(GgufFile file, int context, int batch, long runtimeOverhead) {
        ModelConfig c = ModelConfig.fromGguf(file);
        return estimate(c, weightsByType(file), context, batch, runtimeOverhead);
    }

    /**
     * Judges a model against a budget: fits at the requested context, fits up to a shorter one
     * (at least {@link #MIN_CONTEXT}), or does not fit.
     */
    public static FitVerdict judge(ModelConfig c, Map<GgmlType, Long> weights, int context, int batch, long runtimeOverhead,
                                   long budget, String budgetSource) {
        int ctx = Math.min(context, c.contextLength());
        MemoryEstimate requested = estimate(c, weights, ctx, batch, runtimeOverhead);
        if (requested.totalBytes() <= budget) {
            return new FitVerdict(FitVerdict.Status.FITS, requested, ctx, budget, budgetSource);
        }
        int lo = Math.min(MIN_CONTEXT, ctx);
        if (estimate(c, weights, lo, batch, runtimeOverhead).totalBytes() > budget) {
            return new FitVerdict(FitVerdict.Status.DOES_NOT_FIT, requested, 0, budget, budgetSource);
        }
        int hi = ctx; // lo fits, hi does not
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (estimate(c, weights, mid, batch, runtimeOverhead).totalBytes() <= budget) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return new FitVerdict(FitVerdict.Status.FITS_REDUCED_CONTEXT, requested, lo, budget, budgetSource);
    }
}
