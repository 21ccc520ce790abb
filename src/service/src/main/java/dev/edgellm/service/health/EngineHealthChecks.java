package dev.edgellm.service.health;

import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * The three probes of the engine: started (model loaded), ready (model loaded, memory fit, backend
 * healthy: the node can serve), live (the engine loop is not stuck: token progress watchdog).
 *
 * <p>Each is an {@link AsyncHealthCheck} that only reads volatile state, so a probe is answered on
 * the management interface's event loop and never waits for a worker thread that API requests
 * might be holding.
 */
public final class EngineHealthChecks {
    private EngineHealthChecks() {}

    /** {@code /q/health/started}: UP once the model is loaded. */
    @Startup
    @ApplicationScoped
    public static class ModelLoaded implements AsyncHealthCheck {
        @Inject
        EngineService engine;

        @Override
        public Uni<HealthCheckResponse> call() {
            EngineService.Status s = engine.status();
            return Uni.createFrom().item(HealthCheckResponse.named("model-loaded").status(s.ready())
                    .withData("phase", s.phase().name()).withData("reason", s.reason())
                    .withData("model", String.valueOf(engine.modelPath())).build());
        }
    }

    /**
     * {@code /q/health/ready}: UP while the node can serve: model loaded, fits, backend healthy.
     * A full queue is not "not ready": taking the node's only endpoint out of its Service would
     * turn 429 + {@code Retry-After} into connection errors. The queue is reported in the data.
     */
    @Readiness
    @ApplicationScoped
    public static class EngineReady implements AsyncHealthCheck {
        @Inject
        EngineService engine;

        @Override
        public Uni<HealthCheckResponse> call() {
            EngineService.Status s = engine.status();
            FitVerdict v = engine.verdict();
            boolean saturated = engine.saturated();
            String failure = engine.lastFailure();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("engine")
                    .status(engine.canServe())
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
            return Uni.createFrom().item(b.build());
        }
    }

    /** {@code /q/health/live}: DOWN when a job made no progress for the stall timeout, or the engine thread died. */
    @Liveness
    @ApplicationScoped
    public static class EngineLive implements AsyncHealthCheck {
        @Inject
        EngineService engine;
        @Inject
        EdgeLlmConfig config;

        @Override
        public Uni<HealthCheckResponse> call() {
            Duration stalled = engine.stalledFor();
            Duration limit = config.watchdog().stallTimeout();
            boolean stuck = stalled.compareTo(limit) > 0;
            boolean died = engine.status().ready() && !engine.threadAlive();
            return Uni.createFrom().item(HealthCheckResponse.named("engine-loop").status(!stuck && !died)
                    .withData("busy", engine.busy())
                    .withData("ms_since_progress", stalled.toMillis())
                    .withData("stall_timeout_ms", limit.toMillis())
                    .withData("thread", died ? "dead" : engine.threadAlive() ? "alive" : "not running").build());
        }
    }
}
