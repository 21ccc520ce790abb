package dev.edgellm.core.system;

import java.util.Set;

/**
 * What this machine offers, as probed at startup.
 *
 * @param cpuModel        "model name" from /proc/cpuinfo (or os.arch)
 * @param cores           processors available to the JVM (respects container CPU limits)
 * @param cpuFlags        SIMD-relevant CPU flags (avx2, avx512f, avx512_vnni, fma, asimd, ...)
 * @param memTotal        physical memory in bytes (MemTotal), -1 if unknown
 * @param memAvailable    memory available for new work in bytes (MemAvailable), -1 if unknown
 * @param cgroupVersion   1 or 2 when a cgroup memory controller was found, 0 otherwise
 * @param cgroupLimit     the container memory limit in bytes, -1 when unlimited or absent
 * @param cgroupUsage     memory the container uses now, -1 when unknown
 */
public record SystemInfo(String cpuModel, int cores, Set<String> cpuFlags, long memTotal, long memAvailable,
                         int cgroupVersion, long cgroupLimit, long cgroupUsage) {

    public SystemInfo {
        cpuFlags = Set.copyOf(cpuFlags);
    }

    /**
     * The memory budget a model must fit: the container limit less what the container already
     * uses, bounded by the machine's available memory; without a limit, the available memory.
     */
    public long memoryBudget() {
        long avail = memAvailable > 0 ? memAvailable : (memTotal > 0 ? memTotal : Long.MAX_VALUE);
        if (cgroupLimit > 0) {
            long inContainer = cgroupLimit - Math.max(0, cgroupUsage);
            return Math.max(0, Math.min(inContainer, avail));
        }
        return avail;
    }

    /** The limit that applies, in words: "cgroup v2 memory.max" or "MemAvailable". */
    public String budgetSource() {
        if (cgroupLimit > 0) {
            return "cgroup v" + cgroupVersion + " limit " + cgroupLimit + " bytes less " + Math.max(0, cgroupUsage) + " in use";
        }
        return memAvailable > 0 ? "MemAvailable (no container limit)" : "MemTotal (no container limit)";
    }

    /** The widest SIMD the flags promise, for reports. */
    public String simd() {
        if (cpuFlags.contains("avx512f")) {
            return cpuFlags.contains("avx512_vnni") ? "AVX-512 + VNNI" : "AVX-512";
        }
        if (cpuFlags.contains("avx2")) {
            return "AVX2";
        }
        if (cpuFlags.contains("asimd") || cpuFlags.contains("neon")) {
            return "NEON";
        }
        return cpuFlags.contains("sse4_2") ? "SSE4.2" : "none detected";
    }
}
