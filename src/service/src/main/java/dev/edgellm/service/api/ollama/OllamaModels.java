package dev.edgellm.service.api.ollama;

import dev.edgellm.core.fit.MemoryEstimate;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufArray;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufMetadata;
import dev.edgellm.core.gguf.GgufStrings;
import dev.edgellm.service.api.ApiException;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.FitBasis;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The node's one model as Ollama describes models: its name ({@code <file name>:latest}), the
 * entries of {@code /api/tags} and {@code /api/ps}, and {@code /api/show}'s details, parameters,
 * template and {@code model_info} (the GGUF metadata).
 */
@ApplicationScoped
public class OllamaModels {
    /** Ollama's tag for a name given without one. */
    static final String TAG = ":latest";
    /** Arrays in {@code model_info} longer than this are null (as Ollama gives the tokenizer's), even with {@code verbose}. */
    static final int MAX_ARRAY = 1024;
    /**
     * llama.cpp's {@code llama_ftype} values ({@code general.file_type}) by name, as Ollama reports
     * {@code quantization_level}.
     */
    private static final Map<Long, String> FILE_TYPES = Map.ofEntries(Map.entry(0L, "F32"), Map.entry(1L, "F16"), Map.entry(2L, "Q4_0"),
            Map.entry(3L, "Q4_1"), Map.entry(7L, "Q8_0"), Map.entry(8L, "Q5_0"), Map.entry(9L, "Q5_1"), Map.entry(10L, "Q2_K"),
            Map.entry(11L, "Q3_K_S"), Map.entry(12L, "Q3_K_M"), Map.entry(13L, "Q3_K_L"), Map.entry(14L, "Q4_K_S"), Map.entry(15L, "Q4_K_M"),
            Map.entry(16L, "Q5_K_S"), Map.entry(17L, "Q5_K_M"), Map.entry(18L, "Q6_K"), Map.entry(32L, "BF16"));

    @Inject
    EngineService engine;

    private volatile String digest;
    private volatile Path digestOf;

    /** The model's Ollama name, {@code <id>:latest}. */
    public String name() {
        return engine.modelId() + TAG;
    }

    /** Whether {@code requested} names this node's model ({@code <id>} or {@code <id>:latest}, any case). */
    public boolean matches(String requested) {
        if (requested == null) {
            return false;
        }
        String r = requested.strip();
        if (r.toLowerCase(Locale.ROOT).endsWith(TAG)) {
            r = r.substring(0, r.length() - TAG.length());
        }
        return r.equalsIgnoreCase(engine.modelId());
    }

    /**
     * Checks the {@code model} of a request: 400 without one, 404 (as Ollama) for another model
     * than this node's.
     */
    public void require(String requested, String param) {
        if (requested == null || requested.isBlank()) {
            throw ApiException.invalid(param, "model is required (this node serves \"" + name() + "\")");
        }
        if (!matches(requested)) {
            throw ApiException.notFound(param, "model \"" + requested + "\" not found: this node serves \"" + name()
                    + "\" only (GET /api/tags); EdgeLLM does not pull models");
        }
    }

    /** The {@code /api/tags} entry: the configured model when its header could be read, else none. */
    public List<Map<String, Object>> tags() {
        FitBasis b = engine.fitBasis();
        if (b == null) {
            return List.of();
        }
        Map<String, Object> m = base(b);
        return List.of(m);
    }

    /** The {@code /api/ps} entry: the loaded model, its memory at the context in use, kept loaded for good. */
    public List<Map<String, Object>> running() {
        FitBasis b = engine.fitBasis();
        if (b == null || !engine.status().ready()) {
            return List.of();
        }
        Map<String, Object> m = base(b);
        m.remove("modified_at");
        MemoryEstimate e = b.judge(engine.context()).requested();
        m.put("size", e.totalBytes());
        // The model is never unloaded (Ollama's keep_alive -1 answers the same far-off time).
        m.put("expires_at", Instant.now().plus(292L * 365, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS).toString());
        // No backend reports device memory apart from the host's: all of it counts as host memory.
        m.put("size_vram", 0L);
        m.put("context_length", engine.context());
        return List.of(m);
    }

    private Map<String, Object> base(FitBasis b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name());
        m.put("model", name());
        m.put("modified_at", modifiedAt(b.path()));
        m.put("size", fileSize(b.path()));
        m.put("digest", digest(b.path()));
        m.put("details", details(b));
        return m;
    }

    /** Ollama's {@code details}: format, family, parameter size and quantization. */
    Map<String, Object> details(FitBasis b) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("parent_model", "");
        d.put("format", "gguf");
        d.put("family", b.config().architecture());
        d.put("families", List.of(b.config().architecture()));
        d.put("parameter_size", parameterSize(parameters(b)));
        d.put("quantization_level", quantization(b));
        return d;
    }

    /** Weights in the file: bytes of each type over its bits per weight. */
    static long parameters(FitBasis b) {
        double n = 0;
        for (Map.Entry<GgmlType, Long> e : b.weights().entrySet()) {
            n += e.getValue() * 8.0 / e.getKey().bitsPerWeight();
        }
        return Math.round(n);
    }

    /** As Ollama writes it: 268.10M, 1.0B. */
    static String parameterSize(long n) {
        if (n >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.1fB", n / 1e9);
        }
        if (n >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.2fM", n / 1e6);
        }
        return String.format(Locale.ROOT, "%.2fK", n / 1e3);
    }

    /** {@code general.file_type} by llama.cpp's name, else the weight type holding most bytes. */
    private String quantization(FitBasis b) {
        GgufFile f = engine.modelFile();
        if (f != null) {
            Object t = f.metadata().entry("general.file_type").map(GgufMetadata.Entry::value).orElse(null);
            if (t instanceof Long l && FILE_TYPES.containsKey(l)) {
                return FILE_TYPES.get(l);
            }
        }
        return b.weights().entrySet().stream().max(Map.Entry.comparingByValue()).map(e -> e.getKey().name()).orElse("unknown");
    }

    /**
     * {@code /api/show}: details, the sampling defaults and context as {@code parameters}, the chat
     * template (Jinja, from the file) and the GGUF metadata as {@code model_info}.
     */
    public Map<String, Object> show(boolean verbose) {
        FitBasis b = engine.fitBasis();
        GgufFile f = engine.modelFile();
        if (b == null || f == null) {
            engine.requireReady();
            throw new IllegalStateException("the model is loaded but its file is not");
        }
        GgufMetadata md = f.metadata();
        String template = md.findString("tokenizer.chat_template").filter(t -> engine.chatTemplateWarning() == null)
                .orElse(engine.chatTemplateDescription() == null ? "" : "{{- /* " + engine.chatTemplateDescription() + " */ -}}");
        String parameters = String.join("\n",
                "num_ctx                        " + engine.context(),
                "temperature                    0.8",
                "top_k                          40",
                "top_p                          0.95",
                "min_p                          0.05");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("license", md.findString("general.license").orElse(""));
        m.put("modelfile", "# EdgeLLM serves this GGUF file as it is\nFROM " + b.path() + "\nTEMPLATE \"\"\"" + template + "\"\"\"\n"
                + parameters.lines().map(l -> "PARAMETER " + l.replaceAll(" +", " ")).reduce((x, y) -> x + "\n" + y).orElse("") + "\n");
        m.put("parameters", parameters);
        m.put("template", template);
        m.put("details", details(b));
        m.put("model_info", modelInfo(md, parameters(b), verbose));
        m.put("capabilities", List.of("completion"));
        m.put("modified_at", modifiedAt(b.path()));
        return m;
    }

    /** The metadata as JSON values; arrays are null unless {@code verbose} and at most {@link #MAX_ARRAY} long. */
    static Map<String, Object> modelInfo(GgufMetadata md, long parameters, boolean verbose) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (GgufMetadata.Entry e : md.entries()) {
            Object v = e.value();
            out.put(e.key(), v instanceof GgufArray a ? (verbose && a.length() <= MAX_ARRAY ? array(a) : null) : v);
        }
        out.putIfAbsent("general.parameter_count", parameters);
        return out;
    }

    private static List<Object> array(GgufArray a) {
        List<Object> out = new ArrayList<>(a.length());
        for (int i = 0; i < a.length(); i++) {
            out.add(switch (a.elementType()) {
                case STRING -> ((GgufStrings) a.data()).get(i);
                case FLOAT32, FLOAT64 -> a.getDouble(i);
                case BOOL -> a.getLong(i) != 0;
                case ARRAY -> null;
                default -> a.getLong(i);
            });
        }
        return out;
    }

    private static String modifiedAt(Path p) {
        try {
            return Files.getLastModifiedTime(p).toInstant().toString();
        } catch (IOException e) {
            return Instant.EPOCH.toString();
        }
    }

    private static long fileSize(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * A stable id of the file: SHA-256 of its name, size and modification time (hashing gigabytes
     * of weights at every start would cost a gateway minutes), so it changes when the file does.
     */
    String digest(Path p) {
        if (p.equals(digestOf) && digest != null) {
            return digest;
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((p.getFileName() + "\n" + fileSize(p) + "\n" + modifiedAt(p)).getBytes(StandardCharsets.UTF_8));
            String d = HexFormat.of().formatHex(sha.digest());
            digest = d;
            digestOf = p;
            return d;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
