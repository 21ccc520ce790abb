package dev.edgellm.cli;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufArray;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufMetadata;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.gguf.GgufValueType;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.util.Json;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** {@code edgellm inspect MODEL [--json]}: metadata and tensor table. */
final class InspectCommand {
    static final String USAGE = "inspect MODEL [--json]          metadata and tensor table";
    private static final int ARRAY_PREVIEW = 16;

    static int run(String[] argv, PrintStream out) throws Exception {
        Args a = new Args("inspect", argv, 1, Set.of(), Set.of("--json"), Map.of());
        Path path = Path.of(a.positional(1, "one model file: edgellm inspect MODEL [--json]").getFirst());
        try (GgufFile f = GgufFile.open(path)) {
            if (a.flag("--json")) {
                out.println(json(f));
            } else {
                text(f, out);
            }
        }
        return 0;
    }

    private static void text(GgufFile f, PrintStream out) {
        out.printf("file: %s (%,d bytes)%n", f.path(), f.fileSize());
        out.printf("GGUF v%d, %d metadata keys, %d tensors, alignment %d, data at offset %d%n",
                f.version(), f.metadata().entries().size(), f.tensors().size(), f.alignment(), f.dataOffset());
        out.println();
        out.println("metadata:");
        for (GgufMetadata.Entry e : f.metadata().entries()) {
            String type = e.type() == GgufValueType.ARRAY
                    ? "arr[" + ((GgufArray) e.value()).elementType().shortName() + "," + ((GgufArray) e.value()).length() + "]"
                    : e.type().shortName();
            out.printf("  %-45s %-16s %s%n", e.key(), type, GgufMetadata.render(e.value()).replace("\n", "\\n"));
        }
        out.println();
        out.printf("tensors:%n  %-36s %-6s %-22s %14s %14s%n", "name", "type", "shape", "offset", "bytes");
        for (GgufTensor t : f.tensors().values()) {
            out.printf("  %-36s %-6s %-22s %14d %14d%n", t.name(), t.type(), t.shape(), t.offset(), t.byteSize());
        }
        out.println();
        out.println("weights by type:");
        Map<GgmlType, long[]> byType = byType(f);
        long[] all = new long[3];
        byType.forEach((type, acc) -> {
            out.printf("  %-6s %4d tensors %,15d bytes %,15d weights %6.3f bits/weight%s%n", type, acc[0], acc[1], acc[2], type.bitsPerWeight(),
                    type.supported() ? "" : "  (EdgeLLM does not compute with " + type + ")");
            for (int i = 0; i < 3; i++) {
                all[i] += acc[i];
            }
        });
        out.printf("  %-6s %4d tensors %,15d bytes %,15d weights %6.3f bits/weight%n", "all", all[0], all[1], all[2], 8.0 * all[1] / Math.max(1, all[2]));
        try {
            ModelConfig c = ModelConfig.fromGguf(f);
            out.println();
            out.println("model: " + c);
        } catch (RuntimeException e) {
            out.println();
            out.println("model: not runnable by EdgeLLM: " + e.getMessage());
        }
    }

    /** Per type: tensors, bytes, weights (elements). */
    static Map<GgmlType, long[]> byType(GgufFile f) {
        Map<GgmlType, long[]> byType = new java.util.EnumMap<>(GgmlType.class);
        for (GgufTensor t : f.tensors().values()) {
            long[] acc = byType.computeIfAbsent(t.type(), k -> new long[3]);
            acc[0]++;
            acc[1] += t.byteSize();
            acc[2] += t.elements();
        }
        return byType;
    }

    static String json(GgufFile f) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\"file\":").append(Json.quote(f.path().toString()))
                .append(",\"file_size\":").append(f.fileSize())
                .append(",\"version\":").append(f.version())
                .append(",\"alignment\":").append(f.alignment())
                .append(",\"data_offset\":").append(f.dataOffset())
                .append(",\"metadata\":{");
        boolean first = true;
        for (GgufMetadata.Entry e : f.metadata().entries()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append(Json.quote(e.key())).append(":{\"type\":").append(Json.quote(e.type().shortName())).append(",\"value\":");
            value(sb, e.value());
            sb.append('}');
        }
        sb.append("},\"tensors\":[");
        first = true;
        for (GgufTensor t : f.tensors().values()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append("{\"name\":").append(Json.quote(t.name()))
                    .append(",\"type\":").append(Json.quote(t.type().toString()))
                    .append(",\"dims\":[");
            for (int i = 0; i < t.dims().length; i++) {
                sb.append(i > 0 ? "," : "").append(t.dims()[i]);
            }
            sb.append("],\"offset\":").append(t.offset()).append(",\"bytes\":").append(t.byteSize()).append('}');
        }
        sb.append("],\"weights_by_type\":{");
        first = true;
        for (Map.Entry<GgmlType, long[]> e : byType(f).entrySet()) {
            sb.append(first ? "" : ",").append(Json.quote(e.getKey().name())).append(":{\"tensors\":").append(e.getValue()[0])
                    .append(",\"bytes\":").append(e.getValue()[1]).append(",\"weights\":").append(e.getValue()[2])
                    .append(",\"bits_per_weight\":").append(Json.number(e.getKey().bitsPerWeight()))
                    .append(",\"supported\":").append(e.getKey().supported()).append('}');
            first = false;
        }
        return sb.append("}}").toString();
    }

    /** Scalars as JSON values; arrays as {element type, length, first values} so huge vocabularies stay readable. */
    private static void value(StringBuilder sb, Object v) {
        switch (v) {
            case String s -> sb.append(Json.quote(s));
            case Boolean b -> sb.append(b);
            case Float x -> sb.append(Json.number(x));
            case Double x -> sb.append(Json.number(x));
            case Long l -> sb.append(l);
            case GgufArray arr -> {
                sb.append("{\"element_type\":").append(Json.quote(arr.elementType().shortName()))
                        .append(",\"length\":").append(arr.length()).append(",\"head\":[");
                for (int i = 0; i < Math.min(ARRAY_PREVIEW, arr.length()); i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    switch (arr.elementType()) {
                        case STRING -> sb.append(Json.quote(arr.getString(i)));
                        case FLOAT32, FLOAT64 -> sb.append(Json.number(arr.getDouble(i)));
                        case BOOL -> sb.append(arr.getLong(i) != 0);
                        case ARRAY -> value(sb, ((GgufArray[]) arr.data())[i]);
                        case UINT64 -> sb.append(Long.toUnsignedString(arr.getLong(i)));
                        default -> sb.append(arr.getLong(i));
                    }
                }
                sb.append("]}");
            }
            default -> sb.append(Json.quote(String.valueOf(v)));
        }
    }
}
