package dev.edgellm.core.quant;

import dev.edgellm.core.util.WorkerPool;

/**
 * What calibration knows about the inputs of one group of weights: the Hessian {@code H = X~ X~^T}
 * of the inputs {@code X~} they get in the model being quantized (the blocks before them already
 * quantized), and, for the asymmetric objective, the cross moment {@code C = X X~^T} with the inputs
 * {@code X} the float model gives at the same positions and their Hessian {@code Hf = X X^T}.
 *
 * <p>The output error of a quantized matrix {@code Q} is {@code ||Q X~ - W X||^2}: how far the
 * quantized layer, fed what the quantized model feeds it, lands from the float layer fed the float
 * model's activations. Expanded, {@code tr(Q H Q^T) - 2 tr(W C Q^T) + tr(W Hf W^T)}. Without the
 * float side (symmetric GPTQ) it is {@code ||(Q - W) X~||^2}.
 */
record InputStats(Hessian h, CrossMoment cross, Hessian hf) {

    static InputStats symmetric(Hessian h) {
        return new InputStats(h, null, null);
    }

    boolean asymmetric() {
        return cross != null;
    }

    int size() {
        return h.size();
    }

    /** The same statistics for inputs divided per channel by {@code s} (scales folded into a norm). */
    InputStats scaled(float[] s) {
        return new InputStats(h.scaledInputs(s), cross == null ? null : cross.scaled(s), hf == null ? null : hf.scaledInputs(s));
    }

    /**
     * The output error of {@code q} (dequantized, {@code [rows][n]}, in the coordinates of {@code w})
     * against {@code w}, summed over the calibration tokens.
     */
    double absoluteError(float[] q, float[] w, int rows, WorkerPool pool) {
        int n = h.size();
        if (!asymmetric()) {
            float[] d = new float[q.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = q[i] - w[i];
            }
            return h.quadratic(d, rows, pool);
        }
        double e = h.quadratic(q, rows, pool) + hf.quadratic(w, rows, pool);
        double[] partial = new double[rows];
        pool.parallelFor(rows, 1, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    double wi = w[r * n + i];
                    if (wi == 0) {
                        continue;
                    }
                    double t = 0;
                    for (int j = 0; j < n; j++) {
                        t += cross.get(i, j) * (double) q[r * n + j];
                    }
                    s += wi * t;
                }
                partial[r] = s;
            }
        });
        for (double p : partial) {
            e -= 2 * p;
        }
        return Math.max(e, 0);
    }

    /** {@link #absoluteError} relative to the float layer's output energy ({@code tr(W Hf W^T)}, or {@code tr(W H W^T)}). */
    double relativeError(float[] q, float[] w, int rows, WorkerPool pool) {
        double den = (asymmetric() ? hf : h).quadratic(w, rows, pool);
        return den > 0 ? absoluteError(q, w, rows, pool) / den : 0;
    }
}
