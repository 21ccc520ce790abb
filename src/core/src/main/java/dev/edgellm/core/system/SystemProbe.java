package dev.edgellm.core.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads CPU and memory facts from /proc and /sys, including the container memory limit (cgroup v2
 * {@code memory.max}, v1 {@code memory.limit_in_bytes}). Never throws: what cannot be read is
 * reported as unknown. The root directory is a parameter so tests can fake a machine.
 */
public final class SystemProbe {
    /** cgroup limits at or above this mean "no limit" (v1 reports 2^63 rounded down to a page). */
    private static final long UNLIMITED = 1L << 60;
    private static final Set<String> INTERESTING_FLAGS = Set.of("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
            "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_int8", "asimd", "neon", "fphp", "asimddp", "sve", "sve2");

    private final Path root;

    public SystemProbe(Path root) {
        this.root = root;
    }

    /** Probes the real machine. */
    public static SystemInfo probe() {
        return new SystemProbe(Path.of("/")).read();
    }

    public SystemInfo read() {
        List<String> cpuinfo = lines("proc/cpuinfo");
        String model = System.getProperty("os.arch");
        Set<String> flags = new TreeSet<>();
        for (String l : cpuinfo) {
            int colon = l.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = l.substring(0, colon).trim();
            String value = l.substring(colon + 1).trim();
            if ((key.equals("model name") || key.equals("Hardware") || key.equals("cpu model")) && model.equals(System.getProperty("os.arch"))) {
                model = value;
            } else if ((key.equals("flags") || key.equals("Features")) && flags.isEmpty()) {
                for (String f : value.split("\\s+")) {
                    if (INTERESTING_FLAGS.contains(f)) {
                        flags.add(f);
                    }
                }
            }
        }
        long memTotal = -1;
        long memAvailable = -1;
        for (String l : lines("proc/meminfo")) {
            if (l.startsWith("MemTotal:")) {
                memTotal = kb(l);
            } else if (l.startsWith("MemAvailable:")) {
                memAvailable = kb(l);
            }
        }
        int version = 0;
        long limit = -1;
        long usage = -1;
        // cgroup v2: "0::/path"; v1: "N:memory:/path" (or a comma list containing memory)
        String v2Path = null;
        String v1Path = null;
        for (String l : lines("proc/self/cgroup")) {
            String[] parts = l.split(":", 3);
            if (parts.length < 3) {
                continue;
            }
            if (parts[0].equals("0") && parts[1].isEmpty()) {
                v2Path = parts[2];
            } else if (List.of(parts[1].split(",")).contains("memory")) {
                v1Path = parts[2];
            }
        }
        if (v1Path != null) {
            Long l = firstNumber("sys/fs/cgroup/memory" + v1Path + "/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.limit_in_bytes");
            if (l != null) {
                version = 1;
                limit = l >= UNLIMITED ? -1 : l;
                Long u = firstNumber("sys/fs/cgroup/memory" + v1Path + "/memory.usage_in_bytes", "sys/fs/cgroup/memory/memory.usage_in_bytes");
                usage = u == null ? -1 : u;
            }
        }
        if (version == 0 && v2Path != null) {
            String dir = "sys/fs/cgroup" + (v2Path.equals("/") ? "" : v2Path);
            String max = firstLine(dir + "/memory.max", "sys/fs/cgroup/memory.max");
            if (max != null) {
                version = 2;
                limit = max.equals("max") ? -1 : parse(max);
                Long u = firstNumber(dir + "/memory.current", "sys/fs/cgroup/memory.current");
                usage = u == null ? -1 : u;
            }
        }
        return new SystemInfo(model, Runtime.getRuntime().availableProcessors(), flags, memTotal, memAvailable, version, limit, usage);
    }

    private List<String> lines(String rel) {
        try {
            return Files.readAllLines(root.resolve(rel), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    private String firstLine(String... rels) {
        for (String rel : rels) {
            List<String> l = lines(rel);
            if (!l.isEmpty()) {
                return l.getFirst().trim();
            }
        }
        return null;
    }

    private Long firstNumber(String... rels) {
        String s = firstLine(rels);
        if (s == null) {
            return null;
        }
        long v = parse(s);
        return v < 0 ? null : v;
    }

    private static long parse(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static long kb(String line) {
        String[] parts = line.split("\\s+");
        return parts.length >= 2 ? parse(parts[1]) * 1024 : -1;
    }
}
