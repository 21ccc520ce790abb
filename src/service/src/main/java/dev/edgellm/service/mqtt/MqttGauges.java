package dev.edgellm.service.mqtt;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/** The MQTT intake's gauges and counters, read when {@code /q/metrics} is scraped. */
@ApplicationScoped
public class MqttGauges {
    @Inject
    MeterRegistry registry;
    @Inject
    MqttIntake mqtt;

    void register(@Observes StartupEvent event) {
        gauge("edgellm.mqtt.connected", "1 while connected to the MQTT broker", mqtt, q -> q.connected() ? 1 : 0);
        gauge("edgellm.mqtt.failed.cycles", "MQTT connection cycles failed in a row (the mqtt health check is DOWN from edgellm.mqtt.reconnect.down-after)",
                mqtt, q -> q.failedCycles());
        gauge("edgellm.mqtt.inbox.depth", "MQTT requests received and not yet taken", mqtt, q -> q.running() ? q.inboxDepth() : 0);
        FunctionCounter.builder("edgellm.mqtt.oversize.messages", mqtt, q -> q.mqttMetrics().oversize.get())
                .description("Messages over edgellm.mqtt.max-payload plus headers that the broker sent (each ended the connection)").register(registry);
        FunctionCounter.builder("edgellm.mqtt.session.resets", mqtt, q -> q.mqttMetrics().sessionResets.get())
                .description("Clean-session connections that ended a loop of oversize messages (the broker discarded the node's session)")
                .register(registry);
        FunctionCounter.builder("edgellm.mqtt.disconnects", mqtt, q -> q.mqttMetrics().disconnects.get())
                .description("Connections to the MQTT broker lost").register(registry);
        FunctionCounter.builder("edgellm.mqtt.failed.connection.cycles", mqtt, q -> q.mqttMetrics().failedCycles.get())
                .description("MQTT connection cycles that failed (refused, or lost within 30 s)").register(registry);
        FunctionCounter.builder("edgellm.mqtt.cache.skipped.lines", mqtt, q -> q.mqttMetrics().cacheSkipped.get())
                .description("Unreadable lines skipped when the MQTT response cache was opened").register(registry);
        gauge("edgellm.mqtt.pool.joined", "1 while this node is a member of the work pool (subscribed to its shared topics)", mqtt,
                q -> q.poolJoined() ? 1 : 0);
        gauge("edgellm.mqtt.pool.held", "Work pool requests this node holds (received, not yet answered)", mqtt, q -> q.poolHeld());
    }

    private <T> void gauge(String name, String description, T target, java.util.function.ToDoubleFunction<T> f) {
        Gauge.builder(name, target, f).description(description).strongReference(true).register(registry);
    }
}
