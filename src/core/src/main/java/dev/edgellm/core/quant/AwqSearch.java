package dev.edgellm.core.quant;

import java.util.List;

/**
 * Activation-aware per-channel scaling (AWQ; OmniQuant's learnable equivalent transformation
 * restricted to scales): weights that see large inputs are scaled up before rounding and their
 * inputs scaled down by the same factor, folded into the RMSNorm weight in front of them, which
 * keeps the float model exactly the same function ({@code W x = (W diag(s)) (x / s)}).
 *
 * <p>The scales are {@code s_j = mean|x_j|^alpha}, normalised by {@code sqrt(max s * min s)};
 * {@code alpha} is searched on a grid from 0 (no scaling) to 1 for the smallest output error of all
 * the tensors that share the input, each quantized with the method that will be used. The error
 * is measured in the original coordinates, so the search keeps no scaling unless scaling is better
 * under that measure.
 */
final class AwqSearch {
    static final int GRID = 20;

    /** A tensor of the group: its float weights and the grid it is quantized to. */
    record Member(String name, float[] w, int rows, BlockGrid grid) {}

    /** The chosen scales (null: none), with the exponent and the errors with and without them. */
    record Choice(float[] scales, double alpha, double error, double unscaledError) {}

    private AwqSearch() {}

    static Choice search(List<Member> group, InputStats stats, QuantMethod method, TensorQuantizer q) {
        int cols = stats.size();
        float[] a = stats.h().meanAbs();
        double bestErr = Double.POSITIVE_INFINITY;
        double unscaled = Double.NaN;
        float[] best = null;
        double bestAlpha = 0;
        for (int k = 0; k <= GRID; k++) {
            double alpha = (double) k / GRID;
            float[] s = k == 0 ? null : scales(a, alpha);
            double err = 0;
            for (Member m : group) {
                byte[] data = q.encode(m.grid(), method, m.w(), m.rows(), cols, stats, s);
                err += q.absoluteError(m.grid().type(), data, m.w(), m.rows(), cols, stats, s);
            }
            if (k == 0) {
                unscaled = err;
            }
            if (err < bestErr) {
                bestErr = err;
                best = s;
                bestAlpha = alpha;
            }
        }
        return new Choice(best, bestAlpha, bestErr, unscaled);
    }

    /** {@code s_j = max(a_j, tiny)^alpha / sqrt(max s * min s)}. */
    static float[] scales(float[] a, double alpha) {
        double[] s = new double[a.length];
        double max = 0;
        double min = Double.POSITIVE_INFINITY;
        for (int j = 0; j < a.length; j++) {
            s[j] = Math.pow(Math.max(a[j], 1e-8), alpha);
            max = Math.max(max, s[j]);
            min = Math.min(min, s[j]);
        }
        double norm = Math.sqrt(max * min);
        float[] out = new float[a.length];
        for (int j = 0; j < a.length; j++) {
            out[j] = (float) (s[j] / norm);
        }
        return out;
    }
}
