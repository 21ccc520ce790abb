package dev.edgellm.backend.vector;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species every kernel uses, fixed once per JVM. They are {@code static final} so C2
 * sees constants and intrinsifies the Vector API calls; a species held in a variable would run the
 * (very slow) Java fallback.
 *
 * <p>The width is {@link FloatVector#SPECIES_PREFERRED}'s (512 bits with AVX-512, 256 with AVX2, 128
 * with NEON/SSE), or narrower when the system property {@code edgellm.vector.bits} asks for it
 * (128/256/512): the tests use that to check every code path on one machine.
 */
final class Simd {
    /** The float species of the kernels. */
    static final VectorSpecies<Float> F;
    /** Int lanes matching {@link #F} (same shape). */
    static final VectorSpecies<Integer> I;
    /** Float lanes. */
    static final int L;
    /** Vector width in bits. */
    static final int BITS;
    /**
     * Bytes loaded per step when unpacking quants: 16 (a whole Q4_0 nibble block) for 512-bit,
     * 8 for 256- and 128-bit kernels (a 64-bit load widened to 8 ints, or to 2 x 4 ints).
     */
    static final VectorSpecies<Byte> BQ;
    /** {@code BQ.length() / L}: int vectors one byte load widens into. */
    static final int PARTS;
    /** Shorts with {@link #L} lanes (f16/bf16 weights and caches). */
    static final VectorSpecies<Short> SH;

    static {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int bits = preferred;
        String forced = System.getProperty("edgellm.vector.bits");
        if (forced != null && !forced.isBlank()) {
            int b = Integer.parseInt(forced.trim());
            if (b != 128 && b != 256 && b != 512) {
                throw new IllegalArgumentException("edgellm.vector.bits must be 128, 256 or 512, got " + forced);
            }
            bits = Math.min(b, preferred);
        }
        BITS = bits;
        VectorShape shape = VectorShape.forBitSize(bits);
        F = FloatVector.SPECIES_PREFERRED.withShape(shape);
        I = IntVector.SPECIES_PREFERRED.withShape(shape);
        L = F.length();
        BQ = L >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
        PARTS = BQ.length() / L;
        SH = L >= 16 ? ShortVector.SPECIES_256 : L == 8 ? ShortVector.SPECIES_128 : ShortVector.SPECIES_64;
    }

    private Simd() {}

    /** {@code n} rounded up to a multiple of {@link #L}. */
    static int roundUp(int n) {
        return (n + L - 1) / L * L;
    }
}
