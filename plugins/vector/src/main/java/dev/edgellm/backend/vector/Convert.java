package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.I;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Half-precision conversions on vectors. The Vector API has no float16 conversion operator, so
 * these use integer bit manipulation; they are exact (same results as {@link Float#float16ToFloat}),
 * subnormals and infinities included; NaNs stay NaNs (a signaling payload is not quieted).
 */
final class Convert {
    private static final float TWO_POW_112 = 0x1p112f;

    private Convert() {}

    /** {@code L} float16 values (bits in the lanes of {@code h}, {@code Simd.SH}) to floats. */
    static FloatVector f16ToF32(ShortVector h) {
        IntVector i = (IntVector) h.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        IntVector mag = i.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        // Exponent rebias by multiplication: handles f16 subnormals, which become float normals.
        FloatVector f = mag.reinterpretAsFloats().mul(TWO_POW_112);
        IntVector bits = f.reinterpretAsInts();
        VectorMask<Integer> special = i.and(0x7c00).eq(0x7c00);
        bits = bits.blend(mag.or(0x7f800000), special);
        return bits.or(i.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /** {@code L} bfloat16 values to floats (the upper half of a float's bits). */
    static FloatVector bf16ToF32(ShortVector h) {
        IntVector i = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static {
        if (F.length() != I.length()) {
            throw new AssertionError("float and int species differ in lanes");
        }
    }
}
