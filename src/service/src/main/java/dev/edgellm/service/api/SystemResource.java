package dev.edgellm.service.api;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.backend.Calibration;
import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.core.fit.MemoryEstimate;
import dev.edgellm.core.fit.MemoryFit;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.system.SystemInfo;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.FitBasis;
import dev.edgellm.service.engine.EngineUnavailableException;
import dev.edgellm.service.monitor.ScheduledJobs;
import dev.edgellm.service.mqtt.MqttIntake;
import dev.edgellm.service.system.MemoryMonitor;
import io.quarkus.runtime.annotations.RegisterForReflection;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * EdgeLLM's own API: {@code GET /api/system} (probe, backends, calibration and choice, model,
 * memory fit, engine state, MQTT intake) and the memory fit of the loaded model ({@code GET /api/fit?ctx=N}) or
 * of another GGUF file under the models directory ({@code POST /api/fit}).
 */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
public class SystemResource {
    @Inject
    EngineService engine;
    @Inject
    MemoryMonitor memory;
    @Inject
    ScheduledJobs jobs;
    @Inject
    EdgeLlmConfig config;
    @Inject
    MqttIntake mqtt;

    /** {@code POST /api/fit} body: a GGUF file relative to the models directory, and a context length. */
    @RegisterForReflection
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record FitRequest(String path, Integer ctx) {}

    @GET
    @Path("/system")
    public Map<String, Object> system() {
        Map<String, Object> m = new LinkedHashMap<>();
        EngineService.Status s = engine.status();
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("phase", s.phase().name());
        status.put("reason", s.reason());
        status.put("ready_at", engine.readyAt() == null ? null : engine.readyAt().toString());
        status.put("ready_after_process_start_ms", engine.readyAfter() == null ? null : engine.readyAfter().toMillis());
        status.put("load_ms", engine.loadMillis());
        m.put("status", status);
        m.put("system", system(engine.startupSystem() != null ? engine.startupSystem() : memory.current()));
        m.put("backends", backends());
        m.put("calibration", calibration(engine.calibration()));
        m.put("model", model());
        m.put("memory_fit", engine.verdict() == null ? null : fit(engine.verdict()));
        m.put("memory", memoryNow());
        m.put("engine", jobs.takeSnapshot());
        m.put("last_snapshot", jobs.lastSnapshot());
        m.put("mqtt", mqtt.report());
        return m;
    }

    @GET
    @Path("/fit")
    public Map<String, Object> fitLoaded(@QueryParam("ctx") Integer ctx) {
        FitBasis basis = engine.fitBasis();
        if (basis == null) {
            throw new EngineUnavailableException("the model header was not read: " + engine.status().reason(), engine.retryAfter());
        }
        int context = ctx == null ? engine.requestedContext() : ctx;
        if (context < 1) {
            throw ApiException.invalid("ctx", "ctx must be at least 1, got " + context);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", basis.path().toString());
        out.putAll(fit(basis.judge(context)));
        return out;
    }

    @POST
    @Path("/fit")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> fitFile(FitRequest req) {
        if (req == null || req.path() == null || req.path().isBlank()) {
            throw ApiException.invalid("path", "path (a GGUF file under the models directory) is missing");
        }
        java.nio.file.Path dir = modelsDir();
        java.nio.file.Path file;
        try {
            file = dir.resolve(req.path()).normalize();
        } catch (InvalidPathException e) {
            throw ApiException.invalid("path", "not a valid path: " + req.path());
        }
        if (!file.startsWith(dir)) {
            throw ApiException.invalid("path", "path_outside_models_dir", "the path must stay inside the models directory");
        }
        if (!Files.isRegularFile(file)) {
            throw ApiException.notFound("path", "no file " + req.path() + " in the models directory");
        }
        try {
            // Symbolic links must not lead outside either.
            if (!file.toRealPath().startsWith(dir.toRealPath())) {
                throw ApiException.invalid("path", "path_outside_models_dir", "the path must stay inside the models directory");
            }
        } catch (IOException e) {
            throw ApiException.notFound("path", "cannot resolve " + req.path() + ": " + e.getMessage());
        }
        try (GgufFile f = GgufFile.open(file)) {
            ModelConfig c = ModelConfig.fromGguf(f);
            int ctx = req.ctx() == null ? Math.min(config.context(), c.contextLength()) : req.ctx();
            if (ctx < 1) {
                throw ApiException.invalid("ctx", "ctx must be at least 1, got " + ctx);
            }
            FitBasis loaded = engine.fitBasis();
            long budget = loaded != null ? loaded.budget() : memory.budgetBytes();
            String source = loaded != null ? loaded.budgetSource() : memory.budgetSource();
            FitVerdict v = MemoryFit.judge(c, MemoryFit.weightsByType(f), ctx, Math.max(1, config.batch()),
                    config.memory().runtimeOverhead().asLongValue(), budget, source);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", dir.relativize(file).toString());
            out.put("architecture", c.architecture());
            out.putAll(fit(v));
            return out;
        } catch (GgufFormatException | IllegalArgumentException e) {
            throw ApiException.invalid("path", "not_gguf", "not a usable GGUF model: " + e.getMessage());
        } catch (IOException e) {
            throw ApiException.invalid("path", "cannot read " + req.path() + ": " + e.getMessage());
        }
    }

    /** The directory {@code POST /api/fit} may read: configured, else the model's directory. */
    java.nio.file.Path modelsDir() {
        java.nio.file.Path model = java.nio.file.Path.of(config.model().path()).toAbsolutePath().normalize();
        return config.model().dir().map(d -> java.nio.file.Path.of(d).toAbsolutePath().normalize())
                .orElseGet(() -> model.getParent() == null ? model.getRoot() : model.getParent());
    }

    private Map<String, Object> system(SystemInfo s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpu_model", s.cpuModel());
        m.put("cores", s.cores());
        m.put("simd", s.simd());
        m.put("vector_species", engine.vectorSpecies());
        m.put("cpu_flags", new ArrayList<>(new java.util.TreeSet<>(s.cpuFlags())));
        m.put("mem_total_bytes", s.memTotal());
        m.put("mem_available_bytes", s.memAvailable());
        m.put("cgroup_version", s.cgroupVersion());
        m.put("cgroup_limit_bytes", s.cgroupLimit());
        m.put("cgroup_usage_bytes", s.cgroupUsage());
        m.put("memory_budget_bytes", engine.fitBasis() != null ? engine.fitBasis().budget() : memory.budgetBytes());
        m.put("memory_budget_source", engine.fitBasis() != null ? engine.fitBasis().budgetSource() : memory.budgetSource());
        return m;
    }

    private List<Map<String, Object>> backends() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Backends.Candidate c : engine.backends()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", c.provider().id());
            m.put("priority", c.provider().priority());
            m.put("usable", c.probe().usable());
            m.put("summary", c.probe().summary());
            m.put("details", new java.util.TreeMap<>(c.probe().details()));
            out.add(m);
        }
        return out;
    }

    private Map<String, Object> calibration(Calibration.Outcome o) {
        if (o == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("chosen", o.chosen());
        m.put("reason", o.reason());
        m.put("forced", !config.backend().isBlank() && !config.backend().trim().equalsIgnoreCase("auto"));
        List<Map<String, Object>> results = new ArrayList<>();
        for (Calibration.Result r : o.results()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("backend", r.backend());
            x.put("usable", r.usable());
            x.put("us_per_matvec", Double.isNaN(r.nanosPerOp()) ? null : r.nanosPerOp() / 1e3);
            x.put("gb_per_s", Double.isNaN(r.nanosPerOp()) ? null : r.gbPerSec());
            x.put("us_per_prompt_token", Double.isNaN(r.nanosPerPromptToken()) ? null : r.nanosPerPromptToken() / 1e3);
            x.put("reference_request_ms", Double.isNaN(r.score()) ? null : r.score() / 1e6);
            x.put("rounds", r.rounds());
            x.put("stable", r.stable());
            x.put("note", r.note());
            results.add(x);
        }
        m.put("results", results);
        return m;
    }

    private Map<String, Object> model() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", engine.modelId());
        m.put("path", engine.modelPath() == null ? config.model().path() : engine.modelPath().toString());
        m.put("loaded", engine.status().ready());
        FitBasis b = engine.fitBasis();
        ModelConfig c = b == null ? null : b.config();
        if (c != null) {
            m.put("name", c.name());
            m.put("architecture", c.architecture());
            m.put("layers", c.layers());
            m.put("dim", c.dim());
            m.put("heads", c.heads());
            m.put("kv_heads", c.kvHeads());
            m.put("vocab_size", c.vocabSize());
            m.put("trained_context", c.contextLength());
            m.put("sliding_window", c.slidingWindow());
        }
        m.put("requested_context", engine.requestedContext());
        m.put("context", engine.context());
        m.put("context_capped_by_memory", engine.context() > 0 && engine.context() < engine.requestedContext());
        m.put("batch", config.batch());
        m.put("threads", engine.threads());
        m.put("chat_template", engine.hasChatTemplate());
        m.put("chat_template_source", engine.chatTemplateDescription());
        m.put("chat_template_warning", engine.chatTemplateWarning());
        return m;
    }

    private Map<String, Object> memoryNow() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("used_bytes", memory.usedBytes());
        m.put("rss_bytes", memory.rssBytes());
        m.put("limit_bytes", memory.limitBytes());
        m.put("limit_source", memory.limitSource());
        m.put("available_bytes", memory.current().memAvailable());
        m.put("probed_at", memory.probedAt() == null ? null : memory.probedAt().toString());
        return m;
    }

    static Map<String, Object> fit(FitVerdict v) {
        MemoryEstimate e = v.requested();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("verdict", v.status().name().toLowerCase(Locale.ROOT));
        m.put("fits", v.fits());
        m.put("context", e.context());
        m.put("max_context", v.maxContext());
        m.put("weights_bytes", e.weightBytes());
        Map<String, Object> byType = new LinkedHashMap<>();
        for (GgmlType t : GgmlType.values()) {
            Long b = e.weightsByType().get(t);
            if (b != null) {
                byType.put(t.name(), b);
            }
        }
        m.put("weights_by_type", byType);
        Map<String, Object> bits = new LinkedHashMap<>();
        for (String t : byType.keySet()) {
            bits.put(t, GgmlType.valueOf(t).bitsPerWeight());
        }
        m.put("bits_per_weight_by_type", bits);
        m.put("kv_cache_bytes", e.kvCacheBytes());
        m.put("scratch_bytes", e.scratchBytes());
        m.put("runtime_bytes", e.overheadBytes());
        m.put("total_bytes", e.totalBytes());
        m.put("budget_bytes", v.budgetBytes());
        m.put("budget_source", v.budgetSource());
        m.put("summary", v.summary());
        return m;
    }
}
