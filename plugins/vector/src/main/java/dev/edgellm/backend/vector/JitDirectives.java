package dev.edgellm.backend.vector;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.management.ObjectName;

/**
 * Keeps HotSpot's C1 compiler away from the large matrix-matrix kernels ({@code IntKernels.gemm*},
 * {@code Q5_0Kernels.gemm*}).
 *
 * <p>Why: C1 does not intrinsify the Vector API, so C1 code of a kernel boxes every vector
 * operation (an allocation each) and runs ~50-100x slower than C2's. For the largest kernels C1's
 * profiling tier fails ("out of virtual registers in LIR generator") while its limited-profile tier
 * 2 succeeds, and tier-2 code collects no profile, so the kernel could stay in that slow code for
 * many seconds, or for the whole run: measured on the 270M shape, a 16-token prompt at 1.3-2.2
 * tokens/s (7-12 s to the first token) against 19-143 tokens/s with C1 excluded, in the same
 * minutes on a loaded host. Excluded from C1, the kernel is profiled by the interpreter and goes
 * straight to C2.
 *
 * <p>How: a compiler directive added at run time through the {@code DiagnosticCommand} MBean (the
 * same operation as {@code jcmd <pid> Compiler.directives_add}), so no JVM option is needed. Where
 * there is no such MBean (a native image, which compiles ahead of time anyway) nothing is done.
 * The outcome is reported in the backend's probe details; {@code -Dedgellm.vector.jit-directives=false}
 * leaves them out (for comparisons).
 */
final class JitDirectives {
    private static final Logger LOG = Logger.getLogger(JitDirectives.class.getName());
    /** HotSpot compiler directives (JSON with unquoted keys, as {@code -XX:CompilerDirectivesFile} takes). */
    static final String DIRECTIVES = "[ { match: [\"dev/edgellm/backend/vector/IntKernels.gemm*\", \"dev/edgellm/backend/vector/Q5_0Kernels.gemm*\"],"
            + " c1: { Exclude: true } } ]\n";
    /** What {@link #install()} reports when the directives are in place. */
    static final String INSTALLED = "C1 excluded for the gemm kernels (IntKernels.gemm*, Q5_0Kernels.gemm*)";
    private static volatile String outcome;

    private JitDirectives() {}

    /** Installs the directives once per JVM; returns what happened (for logs and probe details). */
    static synchronized String install() {
        if (outcome == null) {
            outcome = add();
            LOG.log(Level.FINE, "JIT directives: {0}", outcome);
        }
        return outcome;
    }

    private static String add() {
        if (!Boolean.parseBoolean(System.getProperty("edgellm.vector.jit-directives", "true"))) {
            return "not added (edgellm.vector.jit-directives=false)";
        }
        if (!"HotSpot".equals(vmFamily())) {
            return "not added (not a HotSpot JVM: " + System.getProperty("java.vm.name") + ")";
        }
        Path file = null;
        try {
            file = Files.createTempFile("edgellm-jit", ".json");
            Files.writeString(file, DIRECTIVES);
            Object r = ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "compilerDirectivesAdd", new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
            String reply = r == null ? "" : r.toString().trim();
            return reply.contains("1 compiler directives added") || reply.isEmpty() ? INSTALLED : "not added: " + reply;
        } catch (Exception | LinkageError e) {
            return "not added (" + e + ")";
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (java.io.IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    private static String vmFamily() {
        String name = System.getProperty("java.vm.name", "");
        return name.contains("HotSpot") || name.contains("OpenJDK") ? "HotSpot" : name;
    }
}
