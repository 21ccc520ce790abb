package dev.edgellm.backend.vector;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
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
    /** Vectors of {@link #L} columns per 32-column quant block. */
    static final int G;

    // Lane rotations by 8, 4, 2, 1 for the fixed reduction tree (null where wider than the species).
    private static final VectorShuffle<Float> ROT8;
    private static final VectorShuffle<Float> ROT4;
    private static final VectorShuffle<Float> ROT2;
    private static final VectorShuffle<Float> ROT1;

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
        G = 32 / L;
        ROT8 = L >= 16 ? rotation(8) : null;
        ROT4 = L >= 8 ? rotation(4) : null;
        ROT2 = rotation(2);
        ROT1 = rotation(1);
        if (L > 16) {
            throw new AssertionError("species wider than 512 bits are not supported");
        }
    }

    private static VectorShuffle<Float> rotation(int h) {
        return VectorShuffle.fromOp(F, i -> (i + h) & (L - 1));
    }

    private Simd() {}

    /**
     * The sum of the lanes of {@code v} in one fixed order: a tree that adds lane {@code i + h} to
     * lane {@code i} for {@code h = L/2, ..., 1}. Unlike {@code reduceLanes(ADD)}, whose order may
     * differ between the interpreter's Java fallback and C2's intrinsic (and between C2 versions),
     * every step here is a lane-wise IEEE addition, so the result is the same bits in every tier.
     * The matrix products rely on that: a row's dot product must not depend on how it was reached.
     */
    static float sum(FloatVector v) {
        if (L >= 16) {
            v = v.add(v.rearrange(ROT8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(ROT4));
        }
        v = v.add(v.rearrange(ROT2));
        v = v.add(v.rearrange(ROT1));
        return v.lane(0);
    }

    /** {@code out[k] = sum(v_k)} for the {@code count} vectors {@code v_k = v[k*L .. k*L+L)}. */
    static void sums(float[] v, int count, float[] out) {
        for (int k = 0; k < count; k++) {
            out[k] = sum(FloatVector.fromArray(F, v, k * L));
        }
    }

    /** {@code n} rounded up to a multiple of {@link #L}. */
    static int roundUp(int n) {
        return (n + L - 1) / L * L;
    }
}
