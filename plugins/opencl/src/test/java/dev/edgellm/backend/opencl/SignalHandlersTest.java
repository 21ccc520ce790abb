package dev.edgellm.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.edgellm.core.system.JvmSignalHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An OpenCL driver and the JVM's signal handlers. pocl's LLVM replaces the JVM's SIGSEGV handler
 * (among others) when the platform starts; the packaged service then died at a safepoint (exit 139)
 * in CI. Each case probes in a child JVM without the guard: with the JDK's libjsig preloaded (as
 * ./edgellm, the image and the build's test JVMs run) the JVM's fault handlers stay; with it or
 * without it, whatever the driver took, {@link JvmSignalHandlers#restore} puts back.
 */
@ExtendWith(RequiresOpenCl.class)
class SignalHandlersTest {
    static final Path JSIG = Path.of(System.getProperty("java.home"), "lib", "libjsig.so");

    @Test
    void withLibjsigPreloadedTheDriverNeverTakesTheJvmsHandler() throws Exception {
        assumeTrue(JvmSignalHandlers.supported() && Files.isRegularFile(JSIG), "Linux JDK with libjsig");
        Map<String, String> out = probeInChild(JSIG.toString());
        assertEquals("true", out.get("usable"), out.toString());
        assertTrue(out.get("after-probe").endsWith("/libjvm.so"), out.toString());
        // libjsig keeps the handlers the JVM installed at startup (the faults it lives on); the ones
        // it installs later (SIGHUP, SIGINT, SIGTERM for shutdown, SIGUSR2) the driver may still
        // take, and the guard puts those back
        for (String fault : new String[] {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL"}) {
            assertTrue(!java.util.List.of(out.get("restored").split(",")).contains(fault), out.toString());
        }
        assertTrue(out.get("after-restore").endsWith("/libjvm.so"), out.toString());
    }

    @Test
    void withoutLibjsigTheGuardPutsBackWhatTheDriverTook() throws Exception {
        assumeTrue(JvmSignalHandlers.supported(), "Linux on x86-64 or AArch64");
        Map<String, String> out = probeInChild(null);
        assertEquals("true", out.get("usable"), out.toString());
        boolean taken = !out.get("after-probe").endsWith("/libjvm.so");
        if (taken) { // pocl 3 with LLVM 15 (Debian 12, the CI machine): libLLVM's handler
            assertTrue(out.get("restored").contains("SIGSEGV"), out.toString());
            assertTrue(!out.get("libraries").isEmpty(), out.toString());
        }
        assertTrue(out.get("after-restore").endsWith("/libjvm.so"), out.toString());
        System.out.println("[opencl] probe without libjsig: SIGSEGV handler " + out.get("after-probe") + "; put back: "
                + (out.get("restored").isEmpty() ? "nothing" : out.get("restored") + " from " + out.get("libraries")));
    }

    private static Map<String, String> probeInChild(String preload) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), SignalHandlersMain.class.getName());
        if (preload == null) {
            pb.environment().remove("LD_PRELOAD");
        } else {
            pb.environment().put("LD_PRELOAD", preload);
        }
        Process proc = pb.start();
        String text = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS));
        String err = new String(proc.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, proc.exitValue(), text + err);
        return text.lines().filter(l -> l.contains("=")).collect(Collectors.toMap(l -> l.substring(0, l.indexOf('=')),
                l -> l.substring(l.indexOf('=') + 1)));
    }
}
