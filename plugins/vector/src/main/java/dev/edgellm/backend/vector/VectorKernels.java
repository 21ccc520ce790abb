package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.SH;
import static dev.edgellm.core.tensor.Codecs.QK;

import dev.edgellm.core.backend.scalar.ScalarKernels;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise kernels on float rows: activation quantization and rounding, RMSNorm, RoPE,
 * residual adds. Scalar tails go through
 * {@link ScalarKernels} so they compute exactly what the oracle computes.
 */
final class VectorKernels {
    /** {@code 1.5 * 2^23}: adding and subtracting it rounds a float of magnitude below 2^22 to an integer, ties to even. */
    private static final float ROUND_MAGIC = 12582912f;
    /** Doubles with half of {@link Simd#L} lanes: a float vector widens into two of them. */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED.withShape(F.vectorShape());

    /** Half a Q8_0 block: the Q4_0 nibble form pairs element {@code j} with {@code j + HALF}. */
    private static final int HALF = QK / 2;

    static {
        if (HALF % L != 0) {
            throw new ExceptionInInitializerError("a half block of " + HALF + " must hold whole vectors of " + L + " floats");
        }
    }

    private VectorKernels() {}

    // ---- activations ---------------------------------------------------------------------------------

    /**
     * Quantizes floats {@code [from, from+n)} ({@code from} and {@code n} multiples of 32) to Q8_0
     * exactly as {@code Codecs.quantizeQ8_0} for the integer kernels: quants widened to shorts at the
     * same indexes of {@code xq}, each block's scale
     * (the fp16 value, as a float) in {@code xd}, and {@code -8 * sum(quants)} per block in
     * {@code xo} (the Q4_0 nibbles' offset; |sum| <= 32 * 127, so it fits a short).
     *
     * <p>With {@code nibbleForm}, the quants are written in the Q4_0 kernels' form: per block,
     * elements {@code j < 16} stay {@code a_j}, elements {@code 16 + j} become
     * {@code a_{16+j} - 16 a_j}, so that a weight byte {@code v = lo + 16 hi} contributes
     * {@code lo a_j + hi a_{16+j}} as {@code v a_j + hi (a_{16+j} - 16 a_j)} without masking its low
     * nibble (|value| <= 2159; computed on the exact integer floats).
     */
    static void quantizeQ8_0(float[] x, int from, int n, short[] xq, float[] xd, short[] xo, boolean nibbleForm) {
        for (int blk = from / QK; blk < (from + n) / QK; blk++) {
            int base = blk * QK;
            FloatVector amaxV = FloatVector.zero(F);
            for (int j = 0; j < QK; j += L) {
                amaxV = amaxV.max(FloatVector.fromArray(F, x, base + j).abs());
            }
            float amax = amaxV.reduceLanes(VectorOperators.MAX);
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            xd[blk] = Float.float16ToFloat(Float.floatToFloat16(d));
            FloatVector sum = FloatVector.zero(F);
            // element j of the block's first half with element 16 + j (L <= 16 lanes)
            for (int j = 0; j < HALF; j += L) {
                FloatVector q0 = FloatVector.fromArray(F, x, base + j).mul(id).add(ROUND_MAGIC).sub(ROUND_MAGIC);
                FloatVector q1 = FloatVector.fromArray(F, x, base + HALF + j).mul(id).add(ROUND_MAGIC).sub(ROUND_MAGIC);
                sum = sum.add(q0).add(q1);
                ((ShortVector) q0.convertShape(VectorOperators.F2S, SH, 0)).intoArray(xq, base + j);
                FloatVector second = nibbleForm ? q0.mul(-16f).add(q1) : q1;
                ((ShortVector) second.convertShape(VectorOperators.F2S, SH, 0)).intoArray(xq, base + HALF + j);
            }
            // integers below 2^24: exact in any order
            xo[blk] = (short) (-8 * (int) sum.reduceLanes(VectorOperators.ADD));
        }
    }

    /** {@code out[i] = f16(x[i])} as float: activations meeting F16 weights. */
    static void roundToF16(float[] x, int xOff, float[] out, int oOff, int n) {
        for (int i = 0; i < n; i++) {
            out[oOff + i] = Float.float16ToFloat(Float.floatToFloat16(x[xOff + i]));
        }
    }

    /** {@code out[i] = bf16(x[i])} as float (round to nearest even, NaN kept quiet). */
    static void roundToBf16(float[] x, int xOff, float[] out, int oOff, int n) {
        for (int i = 0; i < n; i++) {
            int u = Float.floatToRawIntBits(x[xOff + i]);
            int r = (u & 0x7fffffff) > 0x7f800000 ? (u | 0x400000) & 0xffff0000 : (u + (0x7fff + ((u >>> 16) & 1))) & 0xffff0000;
            out[oOff + i] = Float.intBitsToFloat(r);
        }
    }

    // ---- float rows ---------------------------------------------------------------------------------





    /**
     * RMSNorm of rows {@code [row0, row1)}. Squares are float products summed in double, as the
     * oracle does, so the scale almost always comes out bit-identical to the oracle's; the double
     * lanes are added in a fixed order (not {@code reduceLanes}, whose order may depend on the JIT
     * tier), so a row's result never depends on anything but the row.
     */
    static void rmsNorm(float[] x, float[] out, float[] w, int width, int row0, int row1, float eps) {
        for (int r = row0; r < row1; r++) {
            int o = r * width;
            DoubleVector ss0 = DoubleVector.zero(D);
            DoubleVector ss1 = DoubleVector.zero(D);
            int i = 0;
            int upper = F.loopBound(width);
            for (; i < upper; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, o + i);
                FloatVector sq = v.mul(v);
                ss0 = ss0.add((DoubleVector) sq.convertShape(VectorOperators.F2D, D, 0));
                ss1 = ss1.add((DoubleVector) sq.convertShape(VectorOperators.F2D, D, 1));
            }
            DoubleVector sv = ss0.add(ss1);
            double ss = 0;
            for (int k = 0; k < D.length(); k++) {
                ss += sv.lane(k);
            }
            for (; i < width; i++) {
                ss += x[o + i] * x[o + i];
            }
            float scale = (float) (1.0 / Math.sqrt((float) (ss / width) + eps));
            i = 0;
            for (; i < upper; i += L) {
                FloatVector.fromArray(F, x, o + i).mul(scale).mul(FloatVector.fromArray(F, w, i)).intoArray(out, o + i);
            }
            for (; i < width; i++) {
                out[o + i] = x[o + i] * scale * w[i];
            }
        }
    }

    /** {@code x[i] += y[i]} over {@code [from, to)}. */
    static void add(float[] x, float[] y, int from, int to) {
        int i = from;
        for (int upper = from + F.loopBound(to - from); i < upper; i += L) {
            FloatVector.fromArray(F, x, i).add(FloatVector.fromArray(F, y, i)).intoArray(x, i);
        }
        ScalarKernels.add(x, y, i, to);
    }

    /**
     * NEOX RoPE rotation of one head at {@code o}: pairs {@code (i, i + half)} for {@code i < half},
     * with the position's {@code cos}/{@code sin} from {@code cs0}. Same products and order as the oracle.
     */
    static void ropeNeox(float[] x, int o, int half, float[] cos, float[] sin, int cs0) {
        int i = 0;
        for (int upper = F.loopBound(half); i < upper; i += L) {
            FloatVector x0 = FloatVector.fromArray(F, x, o + i);
            FloatVector x1 = FloatVector.fromArray(F, x, o + i + half);
            FloatVector c = FloatVector.fromArray(F, cos, cs0 + i);
            FloatVector s = FloatVector.fromArray(F, sin, cs0 + i);
            x0.mul(c).sub(x1.mul(s)).intoArray(x, o + i);
            x0.mul(s).add(x1.mul(c)).intoArray(x, o + i + half);
        }
        for (; i < half; i++) {
            float x0 = x[o + i];
            float x1 = x[o + i + half];
            x[o + i] = x0 * cos[cs0 + i] - x1 * sin[cs0 + i];
            x[o + i + half] = x0 * sin[cs0 + i] + x1 * cos[cs0 + i];
        }
    }

    /** Adjacent-pair RoPE of one head at {@code o}: pairs {@code (2i, 2i+1)} for {@code i < half}. */
    static void ropeNormal(float[] x, int o, int half, float[] cos, float[] sin, int cs0) {
        for (int i = 0; i < half; i++) {
            float x0 = x[o + 2 * i];
            float x1 = x[o + 2 * i + 1];
            x[o + 2 * i] = x0 * cos[cs0 + i] - x1 * sin[cs0 + i];
            x[o + 2 * i + 1] = x0 * sin[cs0 + i] + x1 * cos[cs0 + i];
        }
    }
}
