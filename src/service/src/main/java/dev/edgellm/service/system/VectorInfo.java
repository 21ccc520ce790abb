package dev.edgellm.service.system;

/**
 * The SIMD width the JVM offers through the Vector API (its preferred float species). The Vector
 * API is an incubator module: without {@code --add-modules=jdk.incubator.vector} (and in a native
 * image, where it is not supported) this reports why it is unavailable instead of failing.
 */
public final class VectorInfo {
    private VectorInfo() {}

    /** "256-bit (8 float lanes)" or "unavailable: ...". */
    public static String describe() {
        try {
            return Species.preferred();
        } catch (LinkageError | RuntimeException e) {
            return "unavailable: " + e.getClass().getSimpleName() + " (start the JVM with --add-modules=jdk.incubator.vector)";
        }
    }

    /** Separate class, so a missing module fails here and not when VectorInfo loads. */
    private static final class Species {
        static String preferred() {
            jdk.incubator.vector.VectorSpecies<Float> s = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
            return s.vectorBitSize() + "-bit (" + s.length() + " float lanes)";
        }
    }
}
