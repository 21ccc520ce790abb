package dev.edgellm.service.health;

import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.mqtt.MqttIntake;
import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.health.api.Wellness;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;

/**
 * {@code mqtt} in {@code /q/health} and {@code /q/health/well}: DOWN after
 * {@code edgellm.mqtt.reconnect.down-after} connection cycles failed in a row (a broker that
 * refuses the node, a message that keeps ending the connection). Not a readiness or liveness
 * check: the REST API still serves, and a restart would not help.
 */
@Wellness
@ApplicationScoped
public class MqttHealthCheck implements AsyncHealthCheck {
    @Inject
    MqttIntake mqtt;
    @Inject
    EdgeLlmConfig config;

    @Override
    public Uni<HealthCheckResponse> call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("mqtt");
        if (!mqtt.running()) {
            return Uni.createFrom().item(b.up().withData("enabled", false).build());
        }
        int failed = mqtt.failedCycles();
        b.status(failed < Math.max(1, config.mqtt().reconnect().downAfter()))
                .withData("connected", mqtt.connected())
                .withData("failed_cycles", failed)
                .withData("oversize_messages", mqtt.mqttMetrics().oversize.get())
                .withData("session_resets", mqtt.mqttMetrics().sessionResets.get())
                .withData("inbox", mqtt.inboxDepth());
        if (mqtt.lastProblem() != null) {
            b.withData("last_problem", mqtt.lastProblem());
        }
        return Uni.createFrom().item(b.build());
    }
}
