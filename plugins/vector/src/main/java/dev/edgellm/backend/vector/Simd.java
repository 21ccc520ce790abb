package dev.edgellm.backend.vector;

import java.lang.foreign.MemorySegment;
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
     * All native memory as one segment, addressed by absolute address. A constant segment with
     * the global scope makes each vector load a plain load (no session, bounds or alignment checks
     * inlined per access), which keeps the kernels within C2's inlining budget. Callers check
     * ranges against the weight's own segment before calling.
     */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    /** Shorts with {@link #L} lanes (f16/bf16 weights and caches). */
    static final VectorSpecies<Short> SH;
    /**
     * Short lanes of the full width: the rows of an interleaved weight group ({@link PackedWeight}),
     * which the integer kernels accumulate side by side (32 at 512 bits, 16 at 256, 8 at 128).
     */
    static final VectorSpecies<Short> S;
    /** {@link #S}'s lane count: rows per interleaved group. */
    static final int R;
    /** Bytes of half the width: one byte of each of the {@link #R} rows, widened to {@link #S}. */
    static final VectorSpecies<Byte> BR;

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
        SH = L >= 16 ? ShortVector.SPECIES_256 : L == 8 ? ShortVector.SPECIES_128 : ShortVector.SPECIES_64;
        S = ShortVector.SPECIES_PREFERRED.withShape(shape);
        R = S.length();
        BR = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(bits / 2));
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

    /**
     * {@code out[k] = sum(v_k)} for the {@code count} vectors {@code v_k = v[k*L .. k*L+L)}, bit for
     * bit. Sixteen 16-lane vectors (a 4x4 gemm tile) are reduced together ({@link #sums16}).
     */
    static void sums(float[] v, int count, float[] out) {
        if (L == 16 && count == 16) {
            sums16(v, out);
            return;
        }
        for (int k = 0; k < count; k++) {
            out[k] = sum(FloatVector.fromArray(F, v, k * L));
        }
    }

    /**
     * Index vectors of {@link #sums16}'s four levels: {@code [level][0]} picks the lower halves
     * of each segment of two vectors, {@code [level][1]} the upper halves (null below 16 lanes).
     */
    private static final FloatVector[][] PICK = L == 16 ? picks() : null;
    private static final FloatVector PICK0_LO = L == 16 ? PICK[0][0] : null;
    private static final FloatVector PICK0_HI = L == 16 ? PICK[0][1] : null;
    private static final FloatVector PICK1_LO = L == 16 ? PICK[1][0] : null;
    private static final FloatVector PICK1_HI = L == 16 ? PICK[1][1] : null;
    private static final FloatVector PICK2_LO = L == 16 ? PICK[2][0] : null;
    private static final FloatVector PICK2_HI = L == 16 ? PICK[2][1] : null;
    private static final FloatVector PICK3_LO = L == 16 ? PICK[3][0] : null;
    private static final FloatVector PICK3_HI = L == 16 ? PICK[3][1] : null;
    /** Puts {@link #sums16}'s results in order: lane {@code k} takes the lane holding the sum of vector {@code k}. */
    private static final VectorShuffle<Float> ORDER = L == 16 ? VectorShuffle.fromArray(F, order(), 0) : null;

    /**
     * Sixteen {@link #sum}s at once, in the same order of additions: a transposed butterfly. Before
     * the level with half-width {@code h} (8, 4, 2, 1), every vector holds segments of {@code 2h}
     * lanes, each the partial sums {@code s[0..2h)} of one input vector; pairing two vectors, one
     * two-table lookup gathers the lower halves of all their segments, another the upper halves, and
     * one addition gives {@code s[j] + s[j+h]}: exactly {@link #sum}'s step, for 16 vectors in 45
     * operations instead of 16 x 9.
     */
    static void sums16(float[] v, float[] out) {
        FloatVector c0 = pair(v, 0, 1, PICK0_LO, PICK0_HI), c1 = pair(v, 2, 3, PICK0_LO, PICK0_HI);
        FloatVector c2 = pair(v, 4, 5, PICK0_LO, PICK0_HI), c3 = pair(v, 6, 7, PICK0_LO, PICK0_HI);
        FloatVector c4 = pair(v, 8, 9, PICK0_LO, PICK0_HI), c5 = pair(v, 10, 11, PICK0_LO, PICK0_HI);
        FloatVector c6 = pair(v, 12, 13, PICK0_LO, PICK0_HI), c7 = pair(v, 14, 15, PICK0_LO, PICK0_HI);
        FloatVector d0 = PICK1_LO.selectFrom(c0, c1).add(PICK1_HI.selectFrom(c0, c1));
        FloatVector d1 = PICK1_LO.selectFrom(c2, c3).add(PICK1_HI.selectFrom(c2, c3));
        FloatVector d2 = PICK1_LO.selectFrom(c4, c5).add(PICK1_HI.selectFrom(c4, c5));
        FloatVector d3 = PICK1_LO.selectFrom(c6, c7).add(PICK1_HI.selectFrom(c6, c7));
        FloatVector e0 = PICK2_LO.selectFrom(d0, d1).add(PICK2_HI.selectFrom(d0, d1));
        FloatVector e1 = PICK2_LO.selectFrom(d2, d3).add(PICK2_HI.selectFrom(d2, d3));
        FloatVector f = PICK3_LO.selectFrom(e0, e1).add(PICK3_HI.selectFrom(e0, e1));
        f.rearrange(ORDER).intoArray(out, 0);
    }

    private static FloatVector pair(float[] v, int a, int b, FloatVector lo, FloatVector hi) {
        FloatVector va = FloatVector.fromArray(F, v, a * L);
        FloatVector vb = FloatVector.fromArray(F, v, b * L);
        return lo.selectFrom(va, vb).add(hi.selectFrom(va, vb));
    }

    /**
     * The lookups of each level. Segment {@code u} of the output (length {@code h}) is segment
     * {@code u} of the first input if {@code u < n} ({@code n = 16 / 2h} segments per input), else
     * segment {@code u - n} of the second (lanes {@code 16..31} of the two-table lookup); the lower
     * pick takes its first {@code h} lanes, the upper pick the next {@code h}.
     */
    private static FloatVector[][] picks() {
        FloatVector[][] p = new FloatVector[4][2];
        int level = 0;
        for (int h = 8; h >= 1; h >>= 1, level++) {
            int n = 16 / (2 * h);
            float[] lo = new float[16];
            float[] hi = new float[16];
            for (int t = 0; t < 16; t++) {
                int u = t / h;
                int o = t % h;
                int src = u < n ? u * 2 * h + o : 16 + (u - n) * 2 * h + o;
                lo[t] = src;
                hi[t] = src + h;
            }
            p[level][0] = FloatVector.fromArray(F, lo, 0);
            p[level][1] = FloatVector.fromArray(F, hi, 0);
        }
        return p;
    }

    /** Follows each input vector's segments through the four levels: {@code order[k]} is the lane left holding vector {@code k}'s sum. */
    private static int[] order() {
        // owner[v][lane]: which input vector the segment at that lane belongs to
        int[][] owner = new int[16][16];
        for (int k = 0; k < 16; k++) {
            java.util.Arrays.fill(owner[k], k);
        }
        int count = 16;
        for (int h = 8; h >= 1; h >>= 1) {
            int n = 16 / (2 * h);
            int[][] next = new int[count / 2][16];
            for (int q = 0; q < count / 2; q++) {
                for (int t = 0; t < 16; t++) {
                    int u = t / h;
                    next[q][t] = u < n ? owner[2 * q][u * 2 * h] : owner[2 * q + 1][(u - n) * 2 * h];
                }
            }
            owner = next;
            count /= 2;
        }
        int[] order = new int[16];
        for (int t = 0; t < 16; t++) {
            order[owner[0][t]] = t;
        }
        return order;
    }

    /** {@code n} rounded up to a multiple of {@link #L}. */
    static int roundUp(int n) {
        return (n + L - 1) / L * L;
    }
}
