package dev.edgellm.service.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.testing.SharedFiles;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.system.MemoryMonitor;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The engine's startup on its own (no Quarkus): it probes, judges the fit, calibrates and loads,
 * saying what it does as it goes, and returns a report; a missing model or one that does not fit
 * ends it with the reason instead of an exception. Also how the configuration reads an empty pool
 * group.
 */
class EngineStartupTest {
    static EdgeLlmConfig config(Map<String, String> props) {
        SmallRyeConfig c = new SmallRyeConfigBuilder().withMapping(EdgeLlmConfig.class)
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200, new io.quarkus.runtime.configuration.MemorySizeConverter())
                .withSources(new PropertiesConfigSource(props, "test", 500)).build();
        return c.getConfigMapping(EdgeLlmConfig.class);
    }

    static EngineStartup.Result run(Map<String, String> props, List<String> phases) {
        EdgeLlmConfig config = config(props);
        return new EngineStartup(config, MemoryMonitor.of(config)).run(phases::add);
    }

    @Test
    void aModelIsProbedFittedCalibratedAndLoadedAndTheReportSaysSo() {
        List<String> phases = new ArrayList<>();
        Map<String, String> p = new HashMap<>();
        p.put("edgellm.model.path", SharedFiles.model("stories260K.gguf").toString());
        p.put("edgellm.backend", "scalar");
        p.put("edgellm.threads", "1");
        p.put("edgellm.context", "128");
        EngineStartup.Result r = run(p, phases);
        try (EngineStartup.Loaded loaded = r.loaded()) {
            assertNotNull(loaded, r.report().failure());
            StartupReport s = r.report();
            assertTrue(s.loaded());
            assertNull(s.failure());
            assertNotNull(s.system());
            assertFalse(s.backends().isEmpty());
            assertTrue(s.verdict().fits());
            assertEquals(128, s.requestedContext());
            assertEquals(128, s.context());
            assertEquals(loaded.session().contextLength(), s.context());
            assertEquals("scalar", s.calibration().chosen());
            assertEquals(1, s.threads());
            assertEquals(List.of("probing the hardware", "judging the memory fit", "using backend scalar", "loading stories260K.gguf on scalar"), phases);
        }
    }

    @Test
    void aModelThatDoesNotFitEndsStartupWithTheReasonAndTheFit() {
        Map<String, String> p = new HashMap<>();
        p.put("edgellm.model.path", SharedFiles.model("gemma3-tiny-q4_0.gguf").toString());
        p.put("edgellm.memory.limit", "32M");
        EngineStartup.Result r = run(p, new ArrayList<>());
        assertNull(r.loaded());
        assertTrue(r.report().failure().startsWith("the model does not fit the memory limit"), r.report().failure());
        assertFalse(r.report().verdict().fits());
        assertNull(r.report().calibration(), "nothing was calibrated");
        assertEquals(0, r.report().context());
    }

    @Test
    void aMissingModelEndsStartupWithTheReasonAfterTheProbe() {
        EngineStartup.Result r = run(Map.of("edgellm.model.path", "/nonexistent/model.gguf"), new ArrayList<>());
        assertNull(r.loaded());
        assertTrue(r.report().failure().contains("model file /nonexistent/model.gguf not found"), r.report().failure());
        assertNotNull(r.report().system(), "the machine was probed all the same");
        assertNull(r.report().verdict());
    }

    /** The work pool's group: edgellm unless set; an empty value (or none, which the intake reads as such) disables the pool. */
    @Test
    void thePoolGroupDefaultsToEdgellmAndCanBeEmpty() {
        assertEquals(java.util.Optional.of("edgellm"), config(Map.of()).mqtt().poolGroup());
        assertEquals(java.util.Optional.of("site-7"), config(Map.of("edgellm.mqtt.pool-group", "site-7")).mqtt().poolGroup());
        assertEquals(java.util.Optional.empty(), config(Map.of("edgellm.mqtt.pool-group", "")).mqtt().poolGroup());
    }
}
