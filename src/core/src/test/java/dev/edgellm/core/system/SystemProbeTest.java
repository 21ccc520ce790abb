package dev.edgellm.core.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemProbeTest {
    private static void write(Path root, String rel, String content) throws IOException {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }

    private static void machine(Path root) throws IOException {
        write(root, "proc/cpuinfo", "processor\t: 0\nmodel name\t: AMD EPYC 9B45\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_vnni\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9B45\n");
        write(root, "proc/meminfo", "MemTotal:       24684096 kB\nMemFree:        1000 kB\nMemAvailable:   23414408 kB\n");
    }

    @Test
    void cgroupV2LimitAndUsage(@TempDir Path root) throws IOException {
        machine(root);
        write(root, "proc/self/cgroup", "0::/kubepods/pod1/edgellm\n");
        write(root, "sys/fs/cgroup/kubepods/pod1/edgellm/memory.max", "1073741824\n");
        write(root, "sys/fs/cgroup/kubepods/pod1/edgellm/memory.current", "104857600\n");
        SystemInfo s = new SystemProbe(root).read();
        assertEquals("AMD EPYC 9B45", s.cpuModel());
        assertTrue(s.cpuFlags().containsAll(java.util.Set.of("avx2", "avx512f", "avx512_vnni", "fma")));
        assertEquals("AVX-512 + VNNI", s.simd());
        assertEquals(24684096L * 1024, s.memTotal());
        assertEquals(2, s.cgroupVersion());
        assertEquals(1L << 30, s.cgroupLimit());
        assertEquals((1L << 30) - 104857600, s.memoryBudget());
        assertTrue(s.budgetSource().contains("cgroup v2"));
    }

    @Test
    void cgroupV2Unlimited(@TempDir Path root) throws IOException {
        machine(root);
        write(root, "proc/self/cgroup", "0::/\n");
        write(root, "sys/fs/cgroup/memory.max", "max\n");
        SystemInfo s = new SystemProbe(root).read();
        assertEquals(2, s.cgroupVersion());
        assertEquals(-1, s.cgroupLimit());
        assertEquals(23414408L * 1024, s.memoryBudget());
    }

    @Test
    void cgroupV1LimitAndUnlimitedSentinel(@TempDir Path root) throws IOException {
        machine(root);
        write(root, "proc/self/cgroup", "9:name=systemd:/\n4:memory:/docker/abc\n");
        write(root, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "536870912\n");
        write(root, "sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", "0\n");
        SystemInfo s = new SystemProbe(root).read();
        assertEquals(1, s.cgroupVersion());
        assertEquals(512L << 20, s.memoryBudget());

        write(root, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");
        assertEquals(-1, new SystemProbe(root).read().cgroupLimit());
    }

    @Test
    void nothingReadableIsUnknownNotAnError(@TempDir Path root) {
        SystemInfo s = new SystemProbe(root).read();
        assertEquals(-1, s.memTotal());
        assertEquals(0, s.cgroupVersion());
        assertTrue(s.cores() >= 1);
        assertEquals(Long.MAX_VALUE, s.memoryBudget());
    }

    @Test
    void realMachineProbes() {
        SystemInfo s = SystemProbe.probe();
        assertTrue(s.memTotal() > 0 && s.memAvailable() > 0, s.toString());
    }
}
