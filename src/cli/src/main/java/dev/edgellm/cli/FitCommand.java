package dev.edgellm.cli;

import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.core.fit.MemoryEstimate;
import dev.edgellm.core.fit.MemoryFit;
import dev.edgellm.core.fit.ModelCatalog;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.system.SystemInfo;
import dev.edgellm.core.system.SystemProbe;
import dev.edgellm.core.util.Json;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code edgellm fit -m MODEL [--ctx N] [--json]} and {@code edgellm fit --catalog [--json]}: memory
 * needed (weights, KV cache, scratch, runtime) against this machine's real limit, from the GGUF
 * header alone.
 */
final class FitCommand {
    static final String USAGE = "fit (-m MODEL [--ctx N] | --catalog) [--memory SIZE] [--json]";

    static int run(String[] argv, PrintStream out) throws Exception {
        Args a = new Args("fit", argv, 1, Set.of("--model", "--ctx-size", "--batch-size", "--memory"), Set.of("--json", "--catalog"),
                Map.of("-m", "--model", "-c", "--ctx-size", "--ctx", "--ctx-size", "-b", "--batch-size"));
        a.positional(0, "no positional arguments");
        SystemInfo sys = SystemProbe.probe();
        long budget = sys.memoryBudget();
        String source = sys.budgetSource();
        if (a.get("--memory") != null) {
            budget = parseSize(a.get("--memory"));
            source = "--memory";
        }
        int batch = a.getInt("--batch-size", LanguageModel.DEFAULT_BATCH);
        boolean json = a.flag("--json");
        if (a.flag("--catalog")) {
            if (a.get("--model") != null) {
                throw new UsageException("fit: give either -m MODEL or --catalog");
            }
            int ctx = a.getInt("--ctx-size", 4096);
            out.println(catalog(ctx, batch, budget, source, json));
            return 0;
        }
        Path model = Path.of(a.required("--model"));
        try (GgufFile f = GgufFile.open(model)) {
            ModelConfig c = ModelConfig.fromGguf(f);
            int ctx = a.getInt("--ctx-size", c.contextLength());
            if (ctx < 1) {
                throw new UsageException("fit: --ctx must be at least 1");
            }
            FitVerdict v = MemoryFit.judge(c, MemoryFit.weightsByType(f), ctx, batch, MemoryFit.DEFAULT_RUNTIME_OVERHEAD, budget, source);
            out.println(json ? verdictJson(model.toString(), c, v) : verdictText(model.toString(), c, v));
            return v.fits() ? 0 : 3;
        }
    }

    static long parseSize(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long mult = 1;
        if (t.endsWith("ib")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("b")) {
            t = t.substring(0, t.length() - 1);
        }
        switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'k' -> mult = 1L << 10;
            case 'm' -> mult = 1L << 20;
            case 'g' -> mult = 1L << 30;
            case 't' -> mult = 1L << 40;
            default -> { }
        }
        if (mult != 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (v <= 0) {
                throw new NumberFormatException();
            }
            return (long) (v * mult);
        } catch (NumberFormatException e) {
            throw new UsageException("memory size '" + s + "' is not a size like 512m or 2g");
        }
    }

    private static String verdictText(String model, ModelConfig c, FitVerdict v) {
        MemoryEstimate e = v.requested();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "model: %s (%s, %d layers, dim %d, vocab %d, trained context %d)%n", model, c.architecture(), c.layers(), c.dim(), c.vocabSize(), c.contextLength()));
        e.weightsByType().forEach((t, b) -> sb.append(String.format(Locale.ROOT, "  weights %-6s %12s  (%.4g bits per weight)%n", t, mib(b), t.bitsPerWeight())));
        sb.append(String.format(Locale.ROOT, "  weights total  %12s%n", mib(e.weightBytes())));
        sb.append(String.format(Locale.ROOT, "  KV cache       %12s  (%d tokens, f16; %d sliding-window layers capped at %d)%n", mib(e.kvCacheBytes()), e.context(),
                c.slidingLayerCount(), c.slidingWindow()));
        sb.append(String.format(Locale.ROOT, "  scratch        %12s%n", mib(e.scratchBytes())));
        sb.append(String.format(Locale.ROOT, "  runtime        %12s%n", mib(e.overheadBytes())));
        sb.append(String.format(Locale.ROOT, "  total          %12s%n", mib(e.totalBytes())));
        sb.append(String.format(Locale.ROOT, "  available      %12s  (%s)%n", mib(v.budgetBytes()), v.budgetSource()));
        sb.append("verdict: ").append(switch (v.status()) {
            case FITS -> "fits";
            case FITS_REDUCED_CONTEXT -> "fits up to a context of " + v.maxContext() + " tokens";
            case DOES_NOT_FIT -> "does not fit";
        });
        return sb.toString();
    }

    static String verdictJson(String model, ModelConfig c, FitVerdict v) {
        MemoryEstimate e = v.requested();
        StringBuilder sb = new StringBuilder("{\"model\":").append(Json.quote(model))
                .append(",\"architecture\":").append(Json.quote(c.architecture()))
                .append(",\"verdict\":").append(Json.quote(v.status().name().toLowerCase(Locale.ROOT)))
                .append(",\"fits\":").append(v.fits())
                .append(",\"context\":").append(e.context())
                .append(",\"max_context\":").append(v.maxContext())
                .append(",\"weights_bytes\":").append(e.weightBytes())
                .append(",\"weights_by_type\":{");
        boolean first = true;
        for (Map.Entry<GgmlType, Long> w : e.weightsByType().entrySet()) {
            sb.append(first ? "" : ",").append(Json.quote(w.getKey().name())).append(':').append(w.getValue());
            first = false;
        }
        return sb.append("},\"kv_cache_bytes\":").append(e.kvCacheBytes())
                .append(",\"scratch_bytes\":").append(e.scratchBytes())
                .append(",\"runtime_bytes\":").append(e.overheadBytes())
                .append(",\"total_bytes\":").append(e.totalBytes())
                .append(",\"budget_bytes\":").append(v.budgetBytes())
                .append(",\"budget_source\":").append(Json.quote(v.budgetSource()))
                .append(",\"summary\":").append(Json.quote(v.summary())).append('}').toString();
    }

    static String catalog(int ctx, int batch, long budget, String source, boolean json) {
        StringBuilder sb = new StringBuilder();
        if (json) {
            sb.append("{\"budget_bytes\":").append(budget).append(",\"budget_source\":").append(Json.quote(source))
                    .append(",\"context\":").append(ctx).append(",\"models\":[");
        } else {
            sb.append(String.format(Locale.ROOT, "Gemma 3 family: weights (text + vision tower), KV cache (f16), and fit at %d tokens in %s (%s)%n",
                    ctx, mib(budget), source));
            sb.append(String.format(Locale.ROOT, "%-14s %-6s %10s %10s %5s %12s %14s  %s%n", "model", "type", "params", "weights", "bpw", "KV first 1k", "KV each +1k", "fit"));
        }
        boolean firstModel = true;
        for (ModelCatalog.Entry m : ModelCatalog.gemma3()) {
            ModelConfig c = m.config();
            long kv1k = MemoryFit.kvCacheBytes(c, 1024, batch);
            // Past the window only the global layers grow.
            long kvStep = MemoryFit.kvCacheBytes(c, 32768, batch) - MemoryFit.kvCacheBytes(c, 31744, batch);
            for (ModelCatalog.Storage t : ModelCatalog.STORAGES) {
                long weights = m.totalWeightBytes(t);
                FitVerdict v = MemoryFit.judge(c, Map.of(t.base(), weights), ctx, batch, MemoryFit.DEFAULT_RUNTIME_OVERHEAD, budget, source);
                String fit = switch (v.status()) {
                    case FITS -> "fits";
                    case FITS_REDUCED_CONTEXT -> "fits up to " + v.maxContext() + " tokens";
                    case DOES_NOT_FIT -> "does not fit";
                };
                long params = m.textParameters() + m.visionParameters();
                if (json) {
                    sb.append(firstModel ? "" : ",").append("{\"model\":").append(Json.quote(m.name()))
                            .append(",\"type\":").append(Json.quote(t.name()))
                            .append(",\"bits_per_weight\":").append(Json.number(8.0 * weights / params))
                            .append(",\"parameters\":").append(params)
                            .append(",\"weights_bytes\":").append(weights)
                            .append(",\"vision_bytes\":").append(m.totalWeightBytes(t) - m.textWeights(t).values().stream().mapToLong(Long::longValue).sum())
                            .append(",\"kv_bytes_first_1k\":").append(kv1k)
                            .append(",\"kv_bytes_per_1k_after_window\":").append(kvStep)
                            .append(",\"published_gb\":").append(t.mix() == null && m.publishedGb().containsKey(t.base()) ? Json.number(m.publishedGb().get(t.base())) : "null")
                            .append(",\"verdict\":").append(Json.quote(v.status().name().toLowerCase(Locale.ROOT)))
                            .append(",\"max_context\":").append(v.maxContext()).append('}');
                    firstModel = false;
                } else {
                    sb.append(String.format(Locale.ROOT, "%-14s %-6s %9.2fB %8.2f GB %5.2f %9.1f MiB %11.1f MiB  %s%n", m.name(), t, params / 1e9, weights / 1e9,
                            8.0 * weights / params, kv1k / 1048576.0, kvStep / 1048576.0, fit));
                }
            }
        }
        if (json) {
            sb.append("]}");
        } else {
            sb.append("(GB = 1e9 bytes, as in Google's Gemma 3 memory table; Q4_0 is the int4 row; bpw = bits per weight, norms included;\n"
                    + " Q4_K_M/Q5_K_M/Q6_K follow llama-quantize's per-tensor rules, with Q5_0/Q5_1/Q8_0 for rows that are not whole 256-weight blocks.)");
        }
        return sb.toString();
    }

    private static String mib(long b) {
        return String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
    }
}
