package dev.edgellm.service.system;

import dev.edgellm.core.system.SystemInfo;
import dev.edgellm.core.system.SystemProbe;
import dev.edgellm.service.config.EdgeLlmConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The machine's memory as last probed: available memory, the container limit and usage, and this
 * process's resident set. Refreshed at startup and by a scheduled job.
 */
@ApplicationScoped
public class MemoryMonitor {
    @Inject
    EdgeLlmConfig config;

    /** A monitor outside CDI (the engine's startup on its own, in tests). */
    public static MemoryMonitor of(EdgeLlmConfig config) {
        MemoryMonitor m = new MemoryMonitor();
        m.config = config;
        return m;
    }

    private volatile SystemInfo current;
    private volatile long rssBytes = -1;
    private volatile Instant probedAt;

    /** Probes again and returns the new facts. */
    public SystemInfo refresh() {
        SystemInfo s = SystemProbe.probe();
        rssBytes = readRss();
        probedAt = Instant.now();
        current = s;
        return s;
    }

    /** The last probe (probing now if there was none). */
    public SystemInfo current() {
        SystemInfo s = current;
        return s != null ? s : refresh();
    }

    public Instant probedAt() {
        return probedAt;
    }

    /** Resident set size of this process, -1 if unknown. */
    public long rssBytes() {
        return rssBytes;
    }

    /**
     * Memory in use, measured like the limit it is held against: the container's usage under a
     * container limit, else (configured limit, or none) this process's resident set.
     */
    public long usedBytes() {
        SystemInfo s = current();
        if (config.memory().limit().isEmpty() && s.cgroupLimit() > 0 && s.cgroupUsage() > 0) {
            return s.cgroupUsage();
        }
        return rssBytes;
    }

    /** The limit memory use is held against: configured, else the container limit, else physical memory. */
    public long limitBytes() {
        if (config.memory().limit().isPresent()) {
            return config.memory().limit().get().asLongValue();
        }
        SystemInfo s = current();
        return s.cgroupLimit() > 0 ? s.cgroupLimit() : s.memTotal();
    }

    /** Where {@link #limitBytes()} comes from. */
    public String limitSource() {
        if (config.memory().limit().isPresent()) {
            return "edgellm.memory.limit";
        }
        SystemInfo s = current();
        return s.cgroupLimit() > 0 ? "cgroup v" + s.cgroupVersion() + " limit" : "MemTotal";
    }

    /**
     * The budget a model must fit at startup: the configured limit, else the probe's budget
     * (container limit less usage, bounded by available memory).
     */
    public long budgetBytes() {
        return config.memory().limit().map(m -> m.asLongValue()).orElseGet(() -> current().memoryBudget());
    }

    /** Where {@link #budgetBytes()} comes from. */
    public String budgetSource() {
        return config.memory().limit().isPresent() ? "edgellm.memory.limit (configured)" : current().budgetSource();
    }

    static long readRss() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    String[] p = l.trim().split("\\s+");
                    return Long.parseLong(p[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs: unknown
        }
        return -1;
    }
}
