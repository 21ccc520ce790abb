package dev.edgellm.backend.vector;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.BackendProbe;
import dev.edgellm.core.backend.BackendProvider;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Registers the Vector API backend. Usable when the JVM was started with
 * {@code --add-modules=jdk.incubator.vector} and its preferred species holds at least 128 bits;
 * preferred over the scalar oracle.
 */
public final class VectorBackendProvider implements BackendProvider {
    /** Narrowest preferred species worth using: below it the kernels would not beat scalar code. */
    static final int MIN_BITS = 128;

    @Override
    public String id() {
        return VectorBackend.ID;
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public BackendProbe probe() {
        Map<String, String> details = new LinkedHashMap<>();
        details.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return new BackendProbe(VectorBackend.ID, false,
                    "module jdk.incubator.vector is not loaded (start java with --add-modules=jdk.incubator.vector)", details);
        }
        try {
            return Species.probe(details);
        } catch (LinkageError | RuntimeException e) {
            // NoClassDefFoundError / ExceptionInInitializerError when the Vector API is absent or broken.
            return new BackendProbe(VectorBackend.ID, false, "Vector API unavailable: " + e, details);
        }
    }

    @Override
    public Backend create(BackendOptions options) {
        JitDirectives.install(); // before any kernel runs (a no-op when the probe did it)
        return new VectorBackend(options.threads());
    }

    /** The part of the probe that touches jdk.incubator.vector classes, kept apart so linkage errors stay catchable. */
    private static final class Species {
        static BackendProbe probe(Map<String, String> details) {
            int preferred = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
            details.put("preferredBits", Integer.toString(preferred));
            if (preferred < MIN_BITS) {
                return new BackendProbe(VectorBackend.ID, false,
                        "preferred vector species is only " + preferred + " bits (needs " + MIN_BITS + ")", details);
            }
            details.put("bits", Integer.toString(Simd.BITS));
            details.put("floatLanes", Integer.toString(Simd.L));
            details.put("species", Simd.F.toString());
            details.put("jit", JitDirectives.install());
            String forced = Simd.BITS != preferred ? " (narrowed from " + preferred + " by edgellm.vector.bits)" : "";
            return new BackendProbe(VectorBackend.ID, true,
                    Simd.BITS + "-bit vectors, " + Simd.L + " float lanes" + forced, details);
        }
    }
}
