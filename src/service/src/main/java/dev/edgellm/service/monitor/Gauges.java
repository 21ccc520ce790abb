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
 * in use, last decode speed, memory in use against the limit. The MQTT intake's are in
 * {@code dev.edgellm.service.mqtt.MqttGauges}.
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
    }

    private <T> void gauge(String name, String description, T target, java.util.function.ToDoubleFunction<T> f) {
        Gauge.builder(name, target, f).description(description).strongReference(true).register(registry);
    }
}
