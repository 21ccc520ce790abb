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
