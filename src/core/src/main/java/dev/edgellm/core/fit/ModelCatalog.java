package dev.edgellm.core.fit;

import dev.edgellm.core.backend.RopeSpec;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.model.ModelConfig;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The Gemma 3 family at its published shapes, so an operator can see what fits a box before
 * downloading anything. Weight bytes are computed tensor by tensor for a storage type (norms stay
 * F32, as in GGUF files); the 4B, 12B and 27B models also carry a SigLIP vision tower (about
 * 417M parameters), counted separately and stored in the same type.
 */
public final class ModelCatalog {

    /**
     * A catalog model.
     *
     * @param name              e.g. "gemma-3-1b"
     * @param config            its text-model shape
     * @param visionParameters  parameters of the vision tower (0 for text-only models)
     * @param publishedGb       Google's published weight memory in GB (1e9 bytes) by type, where known
     */
    public record Entry(String name, ModelConfig config, long visionParameters, Map<GgmlType, Double> publishedGb) {

        /** Bytes of the text model's weights stored as {@code type}. */
        public Map<GgmlType, Long> textWeights(GgmlType type) {
            ModelConfig c = config;
            Map<GgmlType, Long> m = new EnumMap<>(GgmlType.class);
            long matrix = (long) c.dim() * c.vocabSize(); // token embedding (tied output)
            long perLayer = (long) c.dim() * c.heads() * c.keyDim() + 2L * c.dim() * c.kvHeads() * c.keyDim()
                    + (long) c.heads() * c.valueDim() * c.dim() + 3L * c.dim() * c.ffnDim();
            matrix += perLayer * c.layers();
            long norms = (4L * c.dim() + 2L * c.keyDim()) * c.layers() + c.dim();
            m.merge(type, type.byteSize(matrix), Long::sum);
            m.merge(GgmlType.F32, 4 * norms, Long::sum);
            return m;
        }

        /**
         * Bytes of the text model's weights in a storage scheme, per tensor type: a single type, or
         * one of llama-quantize's K-quant mixes with its per-tensor rules (see {@link Storage}).
         */
        public Map<GgmlType, Long> textWeights(Storage storage) {
            if (storage.mix() == null) {
                return textWeights(storage.base());
            }
            ModelConfig c = config;
            Map<GgmlType, Long> m = new EnumMap<>(GgmlType.class);
            // tied token embedding / output head: Q6_K, or Q8_0 when the width is not whole super-blocks
            GgmlType out = c.dim() % 256 == 0 ? GgmlType.Q6_K : GgmlType.Q8_0;
            m.merge(out, out.byteSize((long) c.dim() * c.vocabSize()), Long::sum);
            for (int i = 0; i < c.layers(); i++) {
                boolean more = Storage.useMoreBits(i, c.layers());
                add(m, storage, false, c.dim(), (long) c.heads() * c.keyDim());            // attn_q
                add(m, storage, false, c.dim(), (long) c.kvHeads() * c.keyDim());          // attn_k
                add(m, storage, more, c.dim(), (long) c.kvHeads() * c.valueDim());         // attn_v
                add(m, storage, false, c.heads() * c.valueDim(), c.dim());                 // attn_output
                add(m, storage, false, c.dim(), c.ffnDim());                               // ffn_gate
                add(m, storage, false, c.dim(), c.ffnDim());                               // ffn_up
                add(m, storage, more, c.ffnDim(), c.dim());                                // ffn_down
            }
            long norms = (4L * c.dim() + 2L * c.keyDim()) * c.layers() + c.dim();
            m.merge(GgmlType.F32, 4 * norms, Long::sum);
            return m;
        }

        private static void add(Map<GgmlType, Long> m, Storage s, boolean moreBits, int cols, long rows) {
            GgmlType t = Storage.fallback(moreBits ? GgmlType.Q6_K : s.base(), cols);
            m.merge(t, t.byteSize(cols * rows), Long::sum);
        }

        /** Text plus vision weight bytes in a storage scheme (the vision tower in the scheme's type for its 1152-wide rows). */
        public long totalWeightBytes(Storage storage) {
            long vision = visionParameters == 0 ? 0 : Storage.fallback(storage.base(), 1152).byteSize(visionParameters / 32 * 32);
            return textWeights(storage).values().stream().mapToLong(Long::longValue).sum() + vision;
        }

        /** Parameters of the text model. */
        public long textParameters() {
            Map<GgmlType, Long> f32 = textWeights(GgmlType.F32);
            return f32.values().stream().mapToLong(Long::longValue).sum() / 4;
        }

        /** Bytes of the vision tower stored as {@code type}. */
        public long visionBytes(GgmlType type) {
            return visionParameters == 0 ? 0 : type.byteSize(visionParameters / 32 * 32);
        }

        /** Text plus vision weight bytes: what Google's memory table counts. */
        public long totalWeightBytes(GgmlType type) {
            return textWeights(type).values().stream().mapToLong(Long::longValue).sum() + visionBytes(type);
        }
    }

    /** Storage types the catalog lists. */
    public static final List<GgmlType> TYPES = List.of(GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0);

    /**
     * How a file stores its matrices: one type throughout ({@code mix} null), or a llama-quantize
     * K-quant mix ({@code Q4_K_M}: Q4_K, with Q6_K for the output head and for attn_v and ffn_down
     * in the layers {@link #useMoreBits} picks; {@code Q5_K_M} the same around Q5_K; {@code Q6_K}
     * all Q6_K). Rows that are not whole 256-weight super-blocks fall back as llama-quantize does:
     * Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0 (Gemma 3 1B's 1152-wide rows).
     */
    public record Storage(String name, GgmlType base, String mix) {
        public static final Storage BF16 = new Storage("BF16", GgmlType.BF16, null);
        public static final Storage Q8_0 = new Storage("Q8_0", GgmlType.Q8_0, null);
        public static final Storage Q4_0 = new Storage("Q4_0", GgmlType.Q4_0, null);
        public static final Storage Q4_K_M = new Storage("Q4_K_M", GgmlType.Q4_K, "M");
        public static final Storage Q5_K_M = new Storage("Q5_K_M", GgmlType.Q5_K, "M");
        public static final Storage Q6_K = new Storage("Q6_K", GgmlType.Q6_K, "all");

        /** llama-quantize's choice of layers that get more bits in the _M mixes. */
        static boolean useMoreBits(int layer, int layers) {
            return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
        }

        /** The type a row of {@code cols} weights is stored in when {@code target} needs whole 256-blocks. */
        static GgmlType fallback(GgmlType target, int cols) {
            if (cols % target.blockSize() == 0) {
                return target;
            }
            return switch (target) {
                case Q4_K -> GgmlType.Q5_0;
                case Q5_K -> GgmlType.Q5_1;
                case Q6_K -> GgmlType.Q8_0;
                default -> target;
            };
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Storage schemes the catalog lists: the single types, then the K-quant mixes community files use. */
    public static final List<Storage> STORAGES = List.of(Storage.BF16, Storage.Q8_0, Storage.Q4_0, Storage.Q4_K_M, Storage.Q5_K_M, Storage.Q6_K);

    private static final long SIGLIP = 417_000_000L;

    private ModelCatalog() {}

    public static List<Entry> gemma3() {
        return List.of(
                entry("gemma-3-270m", 640, 18, 4, 1, 256, 2048, 32768, 512, 0, Map.of()),
                entry("gemma-3-1b", 1152, 26, 4, 1, 256, 6912, 32768, 512, 0, Map.of(GgmlType.BF16, 2.0, GgmlType.Q4_0, 0.5)),
                entry("gemma-3-4b", 2560, 34, 8, 4, 256, 10240, 131072, 1024, SIGLIP, Map.of(GgmlType.BF16, 8.0, GgmlType.Q4_0, 2.6)),
                entry("gemma-3-12b", 3840, 48, 16, 8, 256, 15360, 131072, 1024, SIGLIP, Map.of(GgmlType.BF16, 24.0, GgmlType.Q4_0, 6.6)),
                entry("gemma-3-27b", 5376, 62, 32, 16, 128, 21504, 131072, 1024, SIGLIP, Map.of(GgmlType.BF16, 54.0, GgmlType.Q4_0, 14.1)));
    }

    private static Entry entry(String name, int dim, int layers, int heads, int kvHeads, int headDim, int ffn, int ctx, int window,
                               long vision, Map<GgmlType, Double> published) {
        boolean[] sliding = new boolean[layers];
        for (int i = 0; i < layers; i++) {
            sliding[i] = i % 6 < 5;
        }
        float ropeScale = dim >= 2560 ? 1f / 8 : 1f; // 4B and larger: linear scaling 8 on global layers
        ModelConfig c = new ModelConfig("gemma3", name, dim, layers, heads, kvHeads, headDim, headDim, ffn, 262144, ctx, 1e-6f,
                new RopeSpec(headDim, 1e6f, ropeScale, true), new RopeSpec(headDim, 10000f, 1f, true), window, sliding,
                (float) Math.sqrt(dim), (float) (1 / Math.sqrt(headDim)));
        return new Entry(name, c, vision, published);
    }
}
