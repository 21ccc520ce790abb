package dev.edgellm.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.BackendProbe;
import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.backend.UnsupportedTensorException;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.testing.TensorFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OpenClProbeTest {

    private static OpenClDevice fake(int index, String name, long type) {
        return new OpenClDevice(index, 0, "fake", null, null, name, "v", "OpenCL 3.0", "1", "OpenCL C 1.2", type, 4, 1L << 30, 65536,
                1L << 28, 1024, 0, "cl_khr_fp16");
    }

    @Test
    void listsThePoclDeviceWithItsLimits() {
        BackendProbe p = new OpenClBackendProvider().probe();
        assumeTrue(p.usable(), () -> "no OpenCL here: " + p.summary());
        assertEquals("opencl", p.backend());
        int devices = Integer.parseInt(p.details().get("devices"));
        assertTrue(devices >= 1);
        for (int i = 0; i < devices; i++) {
            String k = "device." + i + ".";
            for (String f : List.of("name", "type", "vendor", "version", "compute_units", "global_mem_bytes", "local_mem_bytes",
                    "max_alloc_bytes", "fp16", "extensions")) {
                assertNotNull(p.details().get(k + f), k + f);
            }
            assertTrue(Long.parseLong(p.details().get(k + "global_mem_bytes")) > 0);
            assertTrue(Integer.parseInt(p.details().get(k + "compute_units")) > 0);
        }
        assertNotNull(p.details().get("chosen"));
        boolean pocl = p.details().entrySet().stream()
                .anyMatch(e -> e.getKey().matches("platform\\.\\d+\\.name") && e.getValue().contains("Portable Computing Language"));
        if (pocl) { // the CI machine: pocl's CPU device
            assertTrue(p.details().values().stream().anyMatch(v -> v.equals("CPU")), p.details().toString());
        }
        System.out.println("[opencl] probe: " + p.summary());
    }

    @Test
    void missingOpenClLibraryIsReportedNotThrown() {
        OpenClBackendProvider provider = new OpenClBackendProvider(() -> {
            throw new UnsatisfiedLinkError("Could not initialize native OpenCL library. Implementation library could not be loaded");
        });
        BackendProbe p = provider.probe();
        assertFalse(p.usable());
        assertTrue(p.summary().startsWith("no OpenCL runtime"), p.summary());
        assertTrue(p.summary().contains("ocl-icd-libopencl1"), p.summary());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> provider.create(BackendOptions.defaults()));
        assertTrue(e.getMessage().contains("not usable"), e.getMessage());
    }

    @Test
    void noPlatformAndNoDeviceAreReported() {
        BackendProbe none = new OpenClBackendProvider(() -> new OpenClPlatforms.Scan(List.of(), List.of(), null)).probe();
        assertFalse(none.usable());
        assertEquals(OpenClBackendProvider.NO_PLATFORM, none.summary());
        BackendProbe noDevice = new OpenClBackendProvider(() -> new OpenClPlatforms.Scan(
                List.of(new OpenClPlatforms.Platform(0, "Empty Platform", "x", "OpenCL 3.0")), List.of(), null)).probe();
        assertFalse(noDevice.usable());
        assertTrue(noDevice.summary().contains("no OpenCL device"), noDevice.summary());
        BackendProbe broken = new OpenClBackendProvider(() -> {
            throw new IllegalStateException("driver exploded");
        }).probe();
        assertFalse(broken.usable());
        assertTrue(broken.summary().contains("driver exploded"), broken.summary());
    }

    @Test
    void disablePropertyAvoidsTheRuntime() {
        System.setProperty(OpenClBackendProvider.DISABLE_PROPERTY, "true");
        try {
            BackendProbe p = new OpenClBackendProvider(() -> {
                throw new AssertionError("the runtime must not be touched");
            }).probe();
            assertFalse(p.usable());
            assertTrue(p.summary().contains("disabled"), p.summary());
        } finally {
            System.clearProperty(OpenClBackendProvider.DISABLE_PROPERTY);
        }
    }

    @Test
    void choosesGpuOverAcceleratorOverCpuUnlessConfigured() {
        OpenClDevice cpu = fake(0, "pthread-cpu", OpenClDevice.TYPE_CPU);
        OpenClDevice acc = fake(1, "Some Accelerator", OpenClDevice.TYPE_ACCELERATOR);
        OpenClDevice gpu = fake(2, "Mali-G610", OpenClDevice.TYPE_GPU);
        OpenClDevice gpu2 = fake(3, "Second GPU", OpenClDevice.TYPE_GPU);
        assertSame(gpu, OpenClBackendProvider.choose(List.of(cpu, acc, gpu, gpu2), null));
        assertSame(acc, OpenClBackendProvider.choose(List.of(cpu, acc), ""));
        assertSame(cpu, OpenClBackendProvider.choose(List.of(cpu, acc, gpu), "0"));
        assertSame(gpu2, OpenClBackendProvider.choose(List.of(cpu, acc, gpu, gpu2), "second"));
        assertNull(OpenClBackendProvider.choose(List.of(cpu, gpu), "7"));
        assertNull(OpenClBackendProvider.choose(List.of(cpu, gpu), "adreno"));

        System.setProperty(OpenClBackendProvider.DEVICE_PROPERTY, "adreno");
        try {
            BackendProbe p = new OpenClBackendProvider(() -> new OpenClPlatforms.Scan(
                    List.of(new OpenClPlatforms.Platform(0, "fake", "x", "OpenCL 3.0")), List.of(cpu, gpu), null)).probe();
            assertFalse(p.usable());
            assertTrue(p.summary().contains("matches no OpenCL device"), p.summary());
        } finally {
            System.clearProperty(OpenClBackendProvider.DEVICE_PROPERTY);
        }
    }

    /** A real ICD loader with no ICD registered (OCL_ICD_VENDORS pointing at an empty directory): a clean report, no stack trace. */
    @Test
    void childJvmWithoutAnyIcdReportsNoPlatform(@TempDir Path empty) throws IOException, InterruptedException {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "OCL_ICD_VENDORS is the Linux ICD loader's variable");
        BackendProbe here = new OpenClBackendProvider().probe();
        assumeTrue(!here.summary().startsWith("no OpenCL runtime"), () -> "no OpenCL loader here: " + here.summary());
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), ProbeMain.class.getName());
        pb.environment().put("OCL_ICD_VENDORS", empty.toString());
        pb.environment().remove("OCL_ICD_FILENAMES");
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, proc.exitValue(), out);
        assertTrue(out.contains("usable=false"), out);
        assertTrue(out.contains("summary=" + OpenClBackendProvider.NO_PLATFORM), out);
        assertFalse(out.contains("Exception") || out.contains("\tat "), out);
        assertTrue(Files.isDirectory(empty));
    }

    @Test
    void backendsSeeTheProviderBelowTheVectorBackend() {
        Backends.Candidate c = Backends.probeAll().stream().filter(x -> x.provider().id().equals("opencl")).findFirst().orElseThrow();
        assertEquals(50, c.provider().priority());
        assertTrue(c.provider().loadsNativeCode(), "its probe and creation run under the signal-handler guard");
    }

    /** On a CPU device (pocl) the thread option becomes a sub-device of that many compute units. */
    @Test
    void threadOptionLimitsACpuDevice() {
        BackendProbe p = RequiresOpenCl.probe();
        assumeTrue(p.usable(), () -> "no OpenCL here: " + p.summary());
        OpenClDevice d = new OpenClBackendProvider().find().device();
        assumeTrue(d.typeName().equals("CPU") && d.computeUnits() > 1, "needs a CPU device with several compute units");
        try (OpenClBackend b = new OpenClBackend(d, new BackendOptions(1))) {
            assertEquals(1, b.threads());
            float[] w = new float[4 * 64];
            java.util.Arrays.fill(w, 0.5f);
            var x = b.allocate(64);
            var out = b.allocate(4);
            float[] ones = new float[64];
            java.util.Arrays.fill(ones, 1f);
            b.write(ones, 0, x, 0, 64);
            b.matmul(b.weight(TensorFactory.tensor("w", GgmlType.F32, 4, 64, w)), x, out, 1);
            float[] got = new float[4];
            b.read(out, 0, got, 0, 4);
            assertEquals(32f, got[3], 1e-5f);
        }
        try (OpenClBackend all = new OpenClBackend(d, new BackendOptions(d.computeUnits() + 4))) {
            assertEquals(d.computeUnits(), all.threads());
        }
    }

    /** The documented policy: no CPU/GPU split; a model larger than device memory is refused at weight() with the reason. */
    @Test
    void refusesWeightsBeyondDeviceLimits() {
        BackendProbe p = RequiresOpenCl.probe();
        assumeTrue(p.usable(), () -> "no OpenCL here: " + p.summary());
        OpenClDevice real = new OpenClBackendProvider().find().device();
        OpenClDevice small = new OpenClDevice(real.index(), real.platformIndex(), real.platformName(), real.platform(), real.id(), real.name(),
                real.vendor(), real.version(), real.driverVersion(), real.openClC(), real.type(), real.computeUnits(), 1L << 20,
                real.localMem(), 400L << 10, real.maxWorkGroup(), real.singleFpConfig(), real.extensions());
        try (OpenClBackend b = new OpenClBackend(small, BackendOptions.defaults())) {
            // 600 KiB of F32: larger than the 400 KiB allocation limit
            UnsupportedTensorException big = assertThrows(UnsupportedTensorException.class,
                    () -> b.weight(TensorFactory.tensor("blk.0.ffn_up.weight", GgmlType.F32, 600, 256, new float[600 * 256])));
            assertTrue(big.getMessage().contains("blk.0.ffn_up.weight") && big.getMessage().contains("largest buffer"), big.getMessage());
            // three 300 KiB tensors: the third passes the 1 MiB of global memory
            b.weight(TensorFactory.tensor("a", GgmlType.F32, 300, 256, new float[300 * 256]));
            b.weight(TensorFactory.tensor("b", GgmlType.F32, 300, 256, new float[300 * 256]));
            DeviceMemoryException full = assertThrows(DeviceMemoryException.class,
                    () -> b.weight(TensorFactory.tensor("c", GgmlType.F32, 300, 256, new float[300 * 256])));
            assertTrue(full.getMessage().contains("does not fit device memory") && full.getMessage().contains("'c'"), full.getMessage());
        }
    }
}
