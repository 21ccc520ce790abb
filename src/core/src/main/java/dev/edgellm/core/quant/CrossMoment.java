package dev.edgellm.core.quant;

import dev.edgellm.core.util.WorkerPool;

/**
 * The cross moment {@code C = sum_t a_t b_t^T} of two input streams at the same token positions:
 * {@code a} from the float model, {@code b} from the model being quantized. Like {@link Hessian},
 * accumulated by rows of {@code C}, each summed over tokens in order (thread-count independent).
 */
final class CrossMoment {
    private final int n;
    private final float[] c;

    CrossMoment(int n) {
        this.n = n;
        this.c = new float[Math.multiplyExact(n, n)];
    }

    float get(int i, int j) {
        return c[i * n + j];
    }

    /** Adds rows {@code a[aRow0 .. aRow0+rows)} against {@code b[0 .. rows)}, both {@code [rows][n]}. */
    void add(float[] a, int aRow0, float[] b, int rows, WorkerPool pool) {
        float[] at = new float[Math.multiplyExact(rows, n)];
        float[] bt = new float[at.length];
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < n; i++) {
                at[i * rows + t] = a[(aRow0 + t) * n + i];
                bt[i * rows + t] = b[t * n + i];
            }
        }
        pool.parallelFor(n, 4, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int t = 0; t < rows; t++) {
                        s += (double) at[i * rows + t] * bt[j * rows + t];
                    }
                    c[i * n + j] += (float) s;
                }
            }
        });
    }

    /** For both streams divided per channel by {@code s}. */
    CrossMoment scaled(float[] s) {
        CrossMoment o = new CrossMoment(n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                o.c[i * n + j] = (float) (c[i * n + j] / ((double) s[i] * s[j]));
            }
        }
        return o;
    }

    /**
     * GPTAQ's target: the weights that, fed the quantized model's inputs, best reproduce the float
     * layer's output, {@code W* = W + W (C - H) (H + damp I)^-1} per row, with {@code (H + damp I)^-1 = U^T U}.
     * Written this way (rather than {@code W C (H + damp I)^-1}) the damping does not shrink the
     * target: where the two streams agree, {@code W* = W}.
     *
     * @param h the quantized inputs' Hessian (undamped), {@code u} the upper factor of its damped inverse
     */
    float[] target(float[] w, int rows, Hessian h, float[] u, WorkerPool pool) {
        float[] out = new float[Math.multiplyExact(rows, n)];
        pool.parallelFor(rows, 1, (r0, r1) -> {
            double[] a = new double[n];
            double[] b = new double[n];
            for (int r = r0; r < r1; r++) {
                java.util.Arrays.fill(a, 0);
                for (int i = 0; i < n; i++) {         // a = w (C - H)
                    double wi = w[r * n + i];
                    if (wi == 0) {
                        continue;
                    }
                    for (int j = 0; j < n; j++) {
                        a[j] += wi * ((double) c[i * n + j] - h.get(i, j));
                    }
                }
                for (int k = 0; k < n; k++) {         // b = a U^T
                    double s = 0;
                    for (int j = k; j < n; j++) {
                        s += a[j] * u[k * n + j];
                    }
                    b[k] = s;
                }
                for (int j = 0; j < n; j++) {         // w + b U
                    double s = 0;
                    for (int k = 0; k <= j; k++) {
                        s += b[k] * u[k * n + j];
                    }
                    out[r * n + j] = (float) (w[r * n + j] + s);
                }
            }
        });
        return out;
    }
}
