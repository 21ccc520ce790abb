package dev.edgellm.backend.vector;

import static dev.edgellm.backend.vector.Simd.F;
import static dev.edgellm.backend.vector.Simd.L;
import static dev.edgellm.backend.vector.Simd.SH;
import static dev.edgellm.core.tensor.Codecs.LE_FLOAT;
import static dev.edgellm.core.tensor.Codecs.LE_SHORT;
import static dev.edgellm.core.tensor.Codecs.QK;

import dev.edgellm.core.backend.scalar.ScalarKernels;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and reduction kernels on float rows: activation quantization, float-weight dot
 * products, RMSNorm, RoPE, softmax, gated activations, residual adds. Scalar tails go through
 * {@link ScalarKernels} so they compute exactly what the oracle computes.
 */
final class VectorKernels {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** {@code 1.5 * 2^23}: adding and subtracting it rounds a float of magnitude below 2^22 to an integer, ties to even. */
    private static final float ROUND_MAGIC = 12582912f;
    /** Doubles with half of {@link Simd#L} lanes: a float vector widens into two of them. */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED.withShape(F.vectorShape());

    private VectorKernels() {}

    // ---- activations ---------------------------------------------------------------------------------

    /**
     * Quantizes {@code n} floats (a multiple of 32) to Q8_0 exactly as {@code Codecs.quantizeQ8_0}
     * (d = amax/127 rounded to fp16, q = rint(x/d) with ties to even) and stores each quant's float
     * value {@code q * d} in {@code xs[xOff..]} and each block's sum of those in {@code xsum[sOff..]}.
     * Products of an int8 and an fp16 are exact in float, and so are block sums of them.
     */
    static void quantizeQ8_0ToF32(float[] x, int xOff, int n, float[] xs, int xsOff, float[] xsum, int sOff) {
        for (int blk = 0; blk < n / QK; blk++) {
            int base = xOff + blk * QK;
            FloatVector amaxV = FloatVector.zero(F);
            for (int j = 0; j < QK; j += L) {
                amaxV = amaxV.max(FloatVector.fromArray(F, x, base + j).abs());
            }
            float amax = amaxV.reduceLanes(VectorOperators.MAX);
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            float dh = Float.float16ToFloat(Float.floatToFloat16(d));
            FloatVector sum = FloatVector.zero(F);
            int o = xsOff + blk * QK;
            for (int j = 0; j < QK; j += L) {
                FloatVector q = FloatVector.fromArray(F, x, base + j).mul(id).add(ROUND_MAGIC).sub(ROUND_MAGIC);
                FloatVector v = q.mul(dh);
                v.intoArray(xs, o + j);
                sum = sum.add(v);
            }
            xsum[sOff + blk] = sum.reduceLanes(VectorOperators.ADD);
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

    // ---- float-type weight rows . float activations (matrix-vector) ---------------------------------

    /** F16 weight row (byte {@code w0}) . activations rounded to f16. */
    static float dotF16F32(MemorySegment w, long w0, float[] x, int x0, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - n % (2 * L); i < upper; i += 2 * L) {
            acc0 = Convert.f16ToF32(ShortVector.fromMemorySegment(SH, w, w0 + 2L * i, LE)).fma(FloatVector.fromArray(F, x, x0 + i), acc0);
            acc1 = Convert.f16ToF32(ShortVector.fromMemorySegment(SH, w, w0 + 2L * (i + L), LE)).fma(FloatVector.fromArray(F, x, x0 + i + L), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += Float.float16ToFloat(w.get(LE_SHORT, w0 + 2L * i)) * x[x0 + i];
        }
        return s;
    }

    /** BF16 weight row . activations rounded to bf16. */
    static float dotBF16F32(MemorySegment w, long w0, float[] x, int x0, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - n % (2 * L); i < upper; i += 2 * L) {
            acc0 = Convert.bf16ToF32(ShortVector.fromMemorySegment(SH, w, w0 + 2L * i, LE)).fma(FloatVector.fromArray(F, x, x0 + i), acc0);
            acc1 = Convert.bf16ToF32(ShortVector.fromMemorySegment(SH, w, w0 + 2L * (i + L), LE)).fma(FloatVector.fromArray(F, x, x0 + i + L), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += Float.intBitsToFloat((w.get(LE_SHORT, w0 + 2L * i) & 0xFFFF) << 16) * x[x0 + i];
        }
        return s;
    }

    /** F32 weight row . F32 activations. */
    static float dotF32F32(MemorySegment w, long w0, float[] x, int x0, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - n % (2 * L); i < upper; i += 2 * L) {
            acc0 = FloatVector.fromMemorySegment(F, w, w0 + 4L * i, LE).fma(FloatVector.fromArray(F, x, x0 + i), acc0);
            acc1 = FloatVector.fromMemorySegment(F, w, w0 + 4L * (i + L), LE).fma(FloatVector.fromArray(F, x, x0 + i + L), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += w.get(LE_FLOAT, w0 + 4L * i) * x[x0 + i];
        }
        return s;
    }

    // ---- float rows ---------------------------------------------------------------------------------

    /** {@code sum_i a[a0+i] * b[b0+i]} over {@code n} floats. */
    static float dot(float[] a, int a0, float[] b, int b0, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - n % (2 * L); i < upper; i += 2 * L) {
            acc0 = FloatVector.fromArray(F, a, a0 + i).fma(FloatVector.fromArray(F, b, b0 + i), acc0);
            acc1 = FloatVector.fromArray(F, a, a0 + i + L).fma(FloatVector.fromArray(F, b, b0 + i + L), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[a0 + i] * b[b0 + i];
        }
        return s;
    }

    /** {@code sum_i a[a0+i] * f16(b[b0+i])}: a query against an f16 cache row. */
    static float dotF16(float[] a, int a0, short[] b, int b0, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - n % (2 * L); i < upper; i += 2 * L) {
            acc0 = FloatVector.fromArray(F, a, a0 + i).fma(Convert.f16ToF32(ShortVector.fromArray(SH, b, b0 + i)), acc0);
            acc1 = FloatVector.fromArray(F, a, a0 + i + L).fma(Convert.f16ToF32(ShortVector.fromArray(SH, b, b0 + i + L)), acc1);
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += a[a0 + i] * Float.float16ToFloat(b[b0 + i]);
        }
        return s;
    }

    /** {@code out[o0+i] += a * b[b0+i]}. */
    static void axpy(float a, float[] b, int b0, float[] out, int o0, int n) {
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(F, b, b0 + i).mul(a).add(FloatVector.fromArray(F, out, o0 + i)).intoArray(out, o0 + i);
        }
        for (; i < n; i++) {
            out[o0 + i] += a * b[b0 + i];
        }
    }

    /** {@code out[o0+i] += a * f16(b[b0+i])}. */
    static void axpyF16(float a, short[] b, int b0, float[] out, int o0, int n) {
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(F, out, o0 + i).add(Convert.f16ToF32(ShortVector.fromArray(SH, b, b0 + i)).mul(a)).intoArray(out, o0 + i);
        }
        for (; i < n; i++) {
            out[o0 + i] += a * Float.float16ToFloat(b[b0 + i]);
        }
    }

    /**
     * RMSNorm of rows {@code [row0, row1)}. Squares are float products summed in double, as the
     * oracle does, so the scale almost always comes out bit-identical.
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
            double ss = ss0.add(ss1).reduceLanes(VectorOperators.ADD);
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

    /** {@code gate[i] = silu(gate[i]) * up[i]} over {@code [from, to)}. */
    static void siluMul(float[] gate, float[] up, int from, int to) {
        int i = from;
        for (int upper = from + F.loopBound(to - from); i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector e = g.neg().lanewise(VectorOperators.EXP).add(1f);
            g.div(e).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        ScalarKernels.siluMul(gate, up, i, to);
    }

    /** In-place softmax of {@code x[from..to)}. */
    static void softmax(float[] x, int from, int to) {
        int n = to - from;
        int upper = F.loopBound(n);
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < upper; i += L) {
            mv = mv.max(FloatVector.fromArray(F, x, from + i));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[from + i]);
        }
        FloatVector sv = FloatVector.zero(F);
        i = 0;
        for (; i < upper; i += L) {
            FloatVector e = FloatVector.fromArray(F, x, from + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(x, from + i);
            sv = sv.add(e);
        }
        float sum = sv.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            x[from + i] = (float) Math.exp(x[from + i] - max);
            sum += x[from + i];
        }
        float inv = 1f / sum;
        i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromArray(F, x, from + i).mul(inv).intoArray(x, from + i);
        }
        for (; i < n; i++) {
            x[from + i] *= inv;
        }
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
