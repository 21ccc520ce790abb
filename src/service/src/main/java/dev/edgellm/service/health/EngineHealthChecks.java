package dev.edgellm.service.health;

import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * The three probes of the engine: started (model loaded), ready (backend healthy, memory fit,
 * queue not saturated), live (the engine loop is not stuck: token progress watchdog).
 */
public final class EngineHealthChecks {
    private EngineHealthChecks() {}

    /** {@code /q/health/started}: UP once the model is loaded. */
    @Startup
    @ApplicationScoped
    public static class ModelLoaded implements HealthCheck {
        @Inject
        EngineService engine;

        @Override
        public HealthCheckResponse call() {
            EngineService.Status s = engine.status();
            return HealthCheckResponse.named("model-loaded").status(s.ready())
                    .withData("phase", s.phase().name()).withData("reason", s.reason())
                    .withData("model", String.valueOf(engine.modelPath())).build();
        }
    }

    /** {@code /q/health/ready}: UP while the engine can take a request now. */
    @Readiness
    @ApplicationScoped
    public static class EngineReady implements HealthCheck {
        @Inject
        EngineService engine;

        @Override
        public HealthCheckResponse call() {
            EngineService.Status s = engine.status();
            FitVerdict v = engine.verdict();
            boolean fits = v != null && v.fits();
            boolean saturated = engine.saturated();
            boolean healthy = engine.backendHealthy();
            String failure = engine.lastFailure();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("engine")
                    .status(s.ready() && fits && !saturated && healthy)
                    .withData("phase", s.phase().name())
                    .withData("reason", s.reason())
                    .withData("memory_fit", v == null ? "unknown" : v.summary())
                    .withData("context", engine.context())
                    .withData("queue", engine.queueDepth() + "/" + engine.queueCapacity() + (saturated ? " (full)" : ""));
            if (engine.calibration() != null) {
                b.withData("backend", engine.calibration().chosen());
            }
            if (failure != null) {
                b.withData("last_job_failure", failure);
            }
            return b.build();
        }
    }

    /** {@code /q/health/live}: DOWN when a job made no progress for the stall timeout, or the engine thread died. */
    @Liveness
    @ApplicationScoped
    public static class EngineLive implements HealthCheck {
        @Inject
        EngineService engine;
        @Inject
        EdgeLlmConfig config;

        @Override
        public HealthCheckResponse call() {
            Duration stalled = engine.stalledFor();
            Duration limit = config.watchdog().stallTimeout();
            boolean stuck = stalled.compareTo(limit) > 0;
            boolean died = engine.status().ready() && !engine.threadAlive();
            return HealthCheckResponse.named("engine-loop").status(!stuck && !died)
                    .withData("busy", engine.busy())
                    .withData("ms_since_progress", stalled.toMillis())
                    .withData("stall_timeout_ms", limit.toMillis())
                    .withData("thread", died ? "dead" : engine.threadAlive() ? "alive" : "not running").build();
        }
    }
}
