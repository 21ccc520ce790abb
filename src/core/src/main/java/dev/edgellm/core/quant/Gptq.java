package dev.edgellm.core.quant;

import dev.edgellm.core.util.WorkerPool;

/**
 * GPTQ (Frantar et al., 2022): rounds a weight matrix one input column at a time and spreads each
 * column's rounding error over the columns not yet rounded, weighted by the inverse Hessian of the
 * layer's inputs, so that the layer's output error over the calibration text stays small.
 *
 * <p>Rows (output channels) are independent given {@code U}, the upper Cholesky factor of the
 * damped inverse Hessian ({@link Hessian#inverseCholeskyUpper}): for column {@code j},
 * {@code q_j = round(w_j / d)}, {@code e = (w_j - d q_j) / U_jj}, and {@code w_k -= e U_jk} for every
 * later column {@code k}. The scale {@code d} of each block of 32 is chosen when the block is
 * reached, from the already updated weights, by the {@link ScaleSearch} with error weights
 * {@code 1 / U_jj^2} (the cost GPTQ assigns to rounding column {@code j}). The layout is the
 * block format's own, so any GGUF runtime reads the result.
 */
public final class Gptq {
    private Gptq() {}

    /**
     * Quantizes {@code w[rows][cols]} (not modified) to {@code grid}; returns the encoded rows.
     * Rows are independent, so the result does not depend on the thread count.
     *
     * @param u upper Cholesky factor of the damped inverse Hessian, {@code [cols][cols]}
     */
    public static byte[] quantize(BlockGrid grid, float[] w, int rows, int cols, float[] u, WorkerPool pool) {
        int blocks = cols / BlockGrid.QK;
        int rowBytes = blocks * grid.blockBytes();
        byte[] out = new byte[Math.multiplyExact(rows, rowBytes)];
        float[] h = new float[cols];
        for (int j = 0; j < cols; j++) {
            float ujj = u[j * cols + j];
            h[j] = 1f / (ujj * ujj);
        }
        pool.parallelFor(rows, 1, (r0, r1) -> {
            ScaleSearch search = new ScaleSearch(grid);
            float[] row = new float[cols];
            int[] levels = new int[cols];
            for (int r = r0; r < r1; r++) {
                System.arraycopy(w, r * cols, row, 0, cols);
                for (int b = 0; b < blocks; b++) {
                    int c0 = b * BlockGrid.QK;
                    float d = search.search(row, c0, h, c0, levels, c0);
                    float id = d != 0f ? 1f / d : 0f;
                    for (int j = c0; j < c0 + BlockGrid.QK; j++) {
                        int q = grid.level(row[j] * id);
                        levels[j] = q;
                        double err = (row[j] - (double) d * q) / u[j * cols + j];
                        if (err != 0) {
                            int uj = j * cols;
                            for (int k = j + 1; k < cols; k++) {
                                row[k] -= (float) (err * u[uj + k]);
                            }
                        }
                    }
                    grid.pack(d, levels, c0, out, r * rowBytes + b * grid.blockBytes());
                }
            }
        });
        return out;
    }
}
