package dev.edgellm.service.monitor;

import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.system.MemoryMonitor;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Periodic jobs: memory re-probe ({@code edgellm.monitor.memory-interval}) and a status snapshot
 * ({@code edgellm.monitor.status-interval}), logged and kept for {@code /api/system}.
 */
@ApplicationScoped
public class ScheduledJobs {
    private static final Logger LOG = Logger.getLogger("dev.edgellm.service.status");

    @Inject
    MemoryMonitor memory;
    @Inject
    EngineService engine;
    @Inject
    EngineMetrics metrics;

    private volatile Map<String, Object> lastSnapshot = Map.of();
    private volatile boolean memoryHigh;

    @Scheduled(identity = "memory-probe", every = "${edgellm.monitor.memory-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void probeMemory() {
        memory.refresh();
        long limit = memory.limitBytes();
        long used = memory.usedBytes();
        boolean high = limit > 0 && used > 0 && used > limit * 0.9;
        if (high != memoryHigh) {
            memoryHigh = high;
            if (high) {
                LOG.warnf("memory in use %.1f MiB is above 90%% of the limit %.1f MiB (%s)", used / 1048576.0, limit / 1048576.0, memory.limitSource());
            } else {
                LOG.infof("memory in use %.1f MiB is back below 90%% of the limit %.1f MiB", used / 1048576.0, limit / 1048576.0);
            }
        }
    }

    @Scheduled(identity = "status-snapshot", every = "${edgellm.monitor.status-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void snapshot() {
        Map<String, Object> s = takeSnapshot();
        lastSnapshot = s;
        LOG.infof("status: %s; queue %s/%s%s; jobs %s completed, %s cancelled, %s failed; %.0f tokens generated, last %.1f tok/s; memory %s of %s",
                s.get("phase"), s.get("queue_depth"), s.get("queue_capacity"), engine.busy() ? ", busy" : "", s.get("jobs_completed"),
                s.get("jobs_cancelled"), s.get("jobs_failed"), metrics.tokensGenerated(), metrics.lastTokensPerSecond(),
                mib(memory.usedBytes()), mib(memory.limitBytes()));
    }

    /** The status right now. */
    public Map<String, Object> takeSnapshot() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("time", Instant.now().toString());
        s.put("phase", engine.status().phase().name());
        s.put("reason", engine.status().reason());
        s.put("queue_depth", engine.queueDepth());
        s.put("queue_capacity", engine.queueCapacity());
        s.put("busy", engine.busy());
        s.put("jobs_completed", engine.completedJobs());
        s.put("jobs_cancelled", engine.cancelledJobs());
        s.put("jobs_failed", engine.failedJobs());
        s.put("tokens_generated", (long) metrics.tokensGenerated());
        s.put("last_tokens_per_second", metrics.lastTokensPerSecond());
        s.put("memory_used_bytes", memory.usedBytes());
        s.put("memory_limit_bytes", memory.limitBytes());
        return s;
    }

    /** The last scheduled snapshot (empty before the first). */
    public Map<String, Object> lastSnapshot() {
        return lastSnapshot;
    }

    private static String mib(long b) {
        return b < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
    }
}
