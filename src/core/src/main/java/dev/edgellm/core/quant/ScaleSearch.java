package dev.edgellm.core.quant;

import dev.edgellm.core.tensor.Codecs;

/**
 * Per-block clipping search (the grid-search form of OmniQuant's learnable weight clipping): for
 * one block of 32 weights, tries scales that map the largest weight to the lowest or the highest
 * level, shrunk (clipping the outliers) or stretched, fits the best scale for the levels each
 * gives by weighted least squares, rounds it to float16 as the file stores it, re-rounds the levels
 * to it and keeps the pair with the smallest weighted squared error
 * {@code sum_j h_j (x_j - d q_j)^2}. ggml's reference block is one of the candidates, so the
 * result is never worse than {@code rtn} under the same weights.
 *
 * <p>With activation statistics the weights {@code h_j} are the mean square of input channel
 * {@code j} (what llama.cpp's importance matrix holds); without, all ones (plain MSE).
 */
public final class ScaleSearch {
    /** Steps of the candidate grid: the extreme weight maps to {@code L * (1 + t)}, {@code t} in [-STRETCH, SHRINK]. */
    private static final int STEPS_STRETCH = 10;
    private static final int STEPS_SHRINK = 24;
    private static final float STEP = 1f / 64;
    private static final int QK = BlockGrid.QK;

    private final BlockGrid grid;
    private final int[] trial = new int[QK];

    public ScaleSearch(BlockGrid grid) {
        this.grid = grid;
    }

    public BlockGrid grid() {
        return grid;
    }

    /**
     * Chooses the scale and levels of one block.
     *
     * @param x      weights {@code x[off .. off+32)}
     * @param h      non-negative error weights {@code h[hOff .. hOff+32)}, or null for all ones
     * @param levels receives the 32 levels at {@code lOff}
     * @return the scale (exactly representable in float16)
     */
    public float search(float[] x, int off, float[] h, int hOff, int[] levels, int lOff) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < QK; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        // ggml's reference block first: ties keep it
        float bestD = grid.referenceBlock(x, off, levels, lOff);
        double best = error(x, off, h, hOff, bestD, levels, lOff);
        if (amax == 0f) {
            return bestD;
        }
        for (int side = 0; side < 2; side++) {
            float edge = side == 0 ? grid.min() : grid.max();
            for (int k = -STEPS_STRETCH; k <= STEPS_SHRINK; k++) {
                float iscale = edge * (1f + k * STEP) / max;
                double sumlx = 0;
                double suml2 = 0;
                for (int j = 0; j < QK; j++) {
                    int l = grid.level(iscale * x[off + j]);
                    double w = h == null ? 1.0 : h[hOff + j];
                    sumlx += w * x[off + j] * l;
                    suml2 += w * (double) l * l;
                }
                if (suml2 <= 0) {
                    continue;
                }
                float d = Codecs.f16ToF32(Codecs.f32ToF16((float) (sumlx / suml2)));
                if (d == 0f || !Float.isFinite(d)) {
                    continue;
                }
                float id = 1f / d;
                for (int j = 0; j < QK; j++) {
                    trial[j] = grid.level(x[off + j] * id);
                }
                double e = error(x, off, h, hOff, d, trial, 0);
                if (e < best) {
                    best = e;
                    bestD = d;
                    System.arraycopy(trial, 0, levels, lOff, QK);
                }
            }
        }
        return bestD;
    }

    /** {@code sum_j h_j (x_j - d q_j)^2} of one block. */
    static double error(float[] x, int off, float[] h, int hOff, float d, int[] levels, int lOff) {
        double e = 0;
        for (int j = 0; j < QK; j++) {
            double r = x[off + j] - (double) d * levels[lOff + j];
            e += (h == null ? 1.0 : h[hOff + j]) * r * r;
        }
        return e;
    }
}
