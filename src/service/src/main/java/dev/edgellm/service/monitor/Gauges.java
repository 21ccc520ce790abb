package dev.edgellm.service.monitor;

import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.system.MemoryMonitor;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/**
 * Gauges read when {@code /q/metrics} is scraped: queue depth and capacity, engine busy, context
 * in use, last decode speed, memory in use against the limit.
 */
@ApplicationScoped
public class Gauges {
    @Inject
    MeterRegistry registry;
    @Inject
    EngineService engine;
    @Inject
    MemoryMonitor memory;
    @Inject
    EngineMetrics metrics;
    @Inject
    dev.edgellm.service.mqtt.MqttIntake mqtt;

    void register(@Observes StartupEvent event) {
        gauge("edgellm.queue.depth", "Jobs waiting for the engine", engine, e -> e.queueDepth());
        gauge("edgellm.queue.capacity", "Jobs that may wait for the engine", engine, e -> e.queueCapacity());
        gauge("edgellm.engine.busy", "1 while a job runs", engine, e -> e.busy() ? 1 : 0);
        gauge("edgellm.engine.ready", "1 while a model is loaded and serving", engine, e -> e.status().ready() ? 1 : 0);
        gauge("edgellm.model.context.tokens", "Context length of the loaded model's session", engine, e -> e.context());
        gauge("edgellm.tokens.per.second", "Decode speed of the last finished generation", metrics, m -> m.lastTokensPerSecond());
        gauge("edgellm.memory.used.bytes", "Memory in use (container usage, else process RSS), as last probed", memory, m -> m.usedBytes());
        gauge("edgellm.memory.limit.bytes", "Memory limit (configured, container, else physical)", memory, m -> m.limitBytes());
        gauge("edgellm.memory.rss.bytes", "Resident set of this process, as last probed", memory, m -> m.rssBytes());
        gauge("edgellm.requests.timed.out", "Jobs cut short by edgellm.limits.max-request-time", engine, e -> e.timedOutJobs());
        gauge("edgellm.mqtt.connected", "1 while connected to the MQTT broker", mqtt, q -> q.connected() ? 1 : 0);
        gauge("edgellm.mqtt.failed.cycles", "MQTT connection cycles failed in a row (the mqtt health check is DOWN from edgellm.mqtt.reconnect.down-after)",
                mqtt, q -> q.failedCycles());
        gauge("edgellm.mqtt.inbox.depth", "MQTT requests received and not yet taken", mqtt, q -> q.running() ? q.inboxDepth() : 0);
        io.micrometer.core.instrument.FunctionCounter.builder("edgellm.mqtt.oversize.messages", mqtt, q -> q.mqttMetrics().oversize.get())
                .description("Messages over edgellm.mqtt.max-payload plus headers that the broker sent (each ended the connection)").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("edgellm.mqtt.disconnects", mqtt, q -> q.mqttMetrics().disconnects.get())
                .description("Connections to the MQTT broker lost").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("edgellm.mqtt.failed.connection.cycles", mqtt, q -> q.mqttMetrics().failedCycles.get())
                .description("MQTT connection cycles that failed (refused, or lost within 30 s)").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("edgellm.mqtt.cache.skipped.lines", mqtt, q -> q.mqttMetrics().cacheSkipped.get())
                .description("Unreadable lines skipped when the MQTT response cache was opened").register(registry);
    }

    private <T> void gauge(String name, String description, T target, java.util.function.ToDoubleFunction<T> f) {
        Gauge.builder(name, target, f).description(description).strongReference(true).register(registry);
    }
}
