package dev.edgellm.cli;

import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.system.SystemInfo;
import dev.edgellm.core.system.SystemProbe;
import dev.edgellm.core.util.Json;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code edgellm system [--json]}: what this machine offers (CPU, SIMD, memory and its container
 * limit) and what every backend plugin found when it probed it (OpenCL platforms and devices, SIMD
 * widths), highest priority first. A backend that cannot run here says why; nothing here throws.
 */
final class SystemCommand {
    static final String USAGE = "system [--json]                 CPU, memory and every backend's probe (OpenCL devices, SIMD)";

    private SystemCommand() {}

    static int run(String[] argv, PrintStream out) {
        Args a = new Args("system", argv, 1, Set.of(), Set.of("--json"), Map.of());
        a.positional(0, "no positional arguments");
        SystemInfo sys = SystemProbe.probe();
        List<Backends.Candidate> backends = Backends.probeAll();
        out.println(a.flag("--json") ? json(sys, backends) : text(sys, backends));
        return 0;
    }

    static String text(SystemInfo s, List<Backends.Candidate> backends) {
        StringBuilder sb = new StringBuilder("system:\n");
        sb.append(String.format(Locale.ROOT, "  cpu             %s%n", s.cpuModel()));
        sb.append(String.format(Locale.ROOT, "  cores           %d%n", s.cores()));
        sb.append(String.format(Locale.ROOT, "  simd            %s (%s)%n", s.simd(), String.join(" ", new java.util.TreeSet<>(s.cpuFlags()))));
        sb.append(String.format(Locale.ROOT, "  memory total    %s%n", bytes(s.memTotal())));
        sb.append(String.format(Locale.ROOT, "  memory avail    %s%n", bytes(s.memAvailable())));
        sb.append(String.format(Locale.ROOT, "  cgroup          %s%n", s.cgroupVersion() == 0 ? "no memory controller found"
                : "v" + s.cgroupVersion() + ", limit " + (s.cgroupLimit() > 0 ? bytes(s.cgroupLimit()) : "none") + ", in use " + bytes(s.cgroupUsage())));
        sb.append(String.format(Locale.ROOT, "  memory budget   %s (%s)%n", bytes(s.memoryBudget()), s.budgetSource()));
        sb.append("backends (highest priority first; --backend ID forces one):\n");
        for (Backends.Candidate c : backends) {
            sb.append(String.format(Locale.ROOT, "  %-8s priority %-4d %-9s %s%n", c.provider().id(), c.provider().priority(),
                    c.probe().usable() ? "usable" : "unusable", c.probe().summary()));
            new TreeMap<>(c.probe().details()).forEach((k, v) -> sb.append(String.format(Locale.ROOT, "      %-32s %s%n", k, v)));
        }
        return sb.toString().stripTrailing();
    }

    static String json(SystemInfo s, List<Backends.Candidate> backends) {
        StringBuilder sb = new StringBuilder("{\"system\":{")
                .append("\"cpu\":").append(Json.quote(s.cpuModel()))
                .append(",\"cores\":").append(s.cores())
                .append(",\"simd\":").append(Json.quote(s.simd()))
                .append(",\"cpu_flags\":[");
        boolean first = true;
        for (String f : new java.util.TreeSet<>(s.cpuFlags())) {
            sb.append(first ? "" : ",").append(Json.quote(f));
            first = false;
        }
        sb.append("],\"mem_total_bytes\":").append(s.memTotal())
                .append(",\"mem_available_bytes\":").append(s.memAvailable())
                .append(",\"cgroup_version\":").append(s.cgroupVersion())
                .append(",\"cgroup_limit_bytes\":").append(s.cgroupLimit())
                .append(",\"cgroup_usage_bytes\":").append(s.cgroupUsage())
                .append(",\"memory_budget_bytes\":").append(s.memoryBudget())
                .append(",\"budget_source\":").append(Json.quote(s.budgetSource()))
                .append("},\"backends\":[");
        first = true;
        for (Backends.Candidate c : backends) {
            sb.append(first ? "" : ",").append("{\"id\":").append(Json.quote(c.provider().id()))
                    .append(",\"priority\":").append(c.provider().priority())
                    .append(",\"usable\":").append(c.probe().usable())
                    .append(",\"summary\":").append(Json.quote(c.probe().summary()))
                    .append(",\"details\":{");
            boolean firstDetail = true;
            for (Map.Entry<String, String> e : new TreeMap<>(c.probe().details()).entrySet()) {
                sb.append(firstDetail ? "" : ",").append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
                firstDetail = false;
            }
            sb.append("}}");
            first = false;
        }
        return sb.append("]}").toString();
    }

    private static String bytes(long b) {
        if (b < 0) {
            return "unknown";
        }
        return String.format(Locale.ROOT, "%.1f GiB", b / (double) (1L << 30));
    }
}
