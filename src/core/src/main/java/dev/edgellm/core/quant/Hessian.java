package dev.edgellm.core.quant;

import dev.edgellm.core.util.WorkerPool;

/**
 * The second moment {@code H = sum_t x_t x_t^T} of the inputs {@code x_t} a weight matrix sees
 * over the calibration text (the Hessian of the layer's squared output error), plus the mean
 * absolute value of each input channel (AWQ's activation statistic).
 *
 * <p>A weight error {@code dW} (one row, over the inputs) costs {@code dW H dW^T} in squared output
 * error summed over the calibration tokens; that is what the methods minimise. Accumulation is
 * split by rows of {@code H}, each summed over tokens in order, so the result does not depend on
 * the thread count. Stored as floats: {@code n^2} of them.
 */
public final class Hessian {
    private final int n;
    private final float[] h;
    private final double[] absSum;
    private long count;

    public Hessian(int n) {
        this.n = n;
        this.h = new float[Math.multiplyExact(n, n)];
        this.absSum = new double[n];
    }

    /** Input width. */
    public int size() {
        return n;
    }

    /** Tokens accumulated. */
    public long count() {
        return count;
    }

    /** {@code H[i][j]} (row-major, symmetric). */
    public float get(int i, int j) {
        return h[i * n + j];
    }

    /** Adds {@code rows} input vectors {@code x[rows][n]}. */
    public void add(float[] x, int rows, WorkerPool pool) {
        if (rows <= 0) {
            return;
        }
        // channel-major copy: each H entry is then a dot product of two contiguous rows
        float[] xt = new float[Math.multiplyExact(rows, n)];
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < n; i++) {
                float v = x[t * n + i];
                xt[i * rows + t] = v;
                absSum[i] += Math.abs(v);
            }
        }
        pool.parallelFor(n, 4, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                int a = i * rows;
                for (int j = 0; j <= i; j++) {
                    int b = j * rows;
                    double s = 0;
                    for (int t = 0; t < rows; t++) {
                        s += (double) xt[a + t] * xt[b + t];
                    }
                    float v = (float) (h[i * n + j] + s);
                    h[i * n + j] = v;
                    h[j * n + i] = v;
                }
            }
        });
        count += rows;
    }

    /** Mean of {@code x_j^2}: the diagonal over the token count (llama.cpp's importance matrix). */
    public float[] meanSquare() {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = count == 0 ? 0f : (float) ((double) h[i * n + i] / count);
        }
        return d;
    }

    /** Mean of {@code |x_j|} per channel. */
    public float[] meanAbs() {
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = count == 0 ? 0f : (float) (absSum[i] / count);
        }
        return d;
    }

    /**
     * This Hessian for inputs scaled per channel: {@code x_j / s_j} (a per-channel factor folded
     * into the preceding norm): {@code H'_ij = H_ij / (s_i s_j)}.
     */
    public Hessian scaledInputs(float[] s) {
        Hessian o = new Hessian(n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                o.h[i * n + j] = (float) (h[i * n + j] / ((double) s[i] * s[j]));
            }
            o.absSum[i] = absSum[i] / s[i];
        }
        o.count = count;
        return o;
    }

    /** {@code sum_rows dW_r H dW_r^T} for a difference matrix {@code d[rows][n]}. */
    public double quadratic(float[] d, int rows, WorkerPool pool) {
        double[] partial = new double[rows];
        pool.parallelFor(rows, 1, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * n;
                double s = 0;
                for (int i = 0; i < n; i++) {
                    double di = d[o + i];
                    if (di == 0) {
                        continue;
                    }
                    double t = 0;
                    int hi = i * n;
                    for (int j = 0; j < n; j++) {
                        t += h[hi + j] * (double) d[o + j];
                    }
                    s += di * t;
                }
                partial[r] = s;
            }
        });
        double s = 0;
        for (double p : partial) {
            s += p;
        }
        return s;
    }

    /**
     * The upper Cholesky factor {@code U} of {@code (H + damp I)^-1}, {@code U^T U = (H + damp I)^-1}
     * (GPTQ's {@code Hinv}), with {@code damp = dampFraction * mean(diag H)}. A channel that never
     * carried a signal gets a diagonal of 1. If the damped matrix is still not positive definite in
     * float arithmetic the damping is raised tenfold until it is.
     *
     * <p>Computed as the reversal of the inverse of the lower Cholesky factor of the reversed
     * matrix (for the reversal {@code J}: {@code U = J chol(J H J)^-1 J}), so only one
     * factorisation and one triangular inverse are needed. Returns U row-major.
     */
    public float[] inverseCholeskyUpper(double dampFraction, WorkerPool pool) {
        double mean = 0;
        for (int i = 0; i < n; i++) {
            mean += h[i * n + i];
        }
        mean /= n;
        if (mean <= 0) {
            mean = 1;
        }
        for (double damp = dampFraction; ; damp *= 10) {
            float[] a = new float[n * n];
            // a = J (H + damp I) J
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    a[(n - 1 - i) * n + (n - 1 - j)] = h[i * n + j];
                }
                int r = n - 1 - i;
                float diag = h[i * n + i];
                a[r * n + r] = (float) ((diag == 0f ? 1.0 : diag) + damp * mean);
            }
            if (choleskyLower(a, pool) && invertLower(a, pool)) {
                // U[i][j] = M[n-1-i][n-1-j]; upper triangle
                float[] u = new float[n * n];
                for (int i = 0; i < n; i++) {
                    for (int j = i; j < n; j++) {
                        u[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)];
                    }
                }
                return u;
            }
            if (damp > 1e6) {
                throw new IllegalStateException("input Hessian is not positive definite even with damping " + damp);
            }
        }
    }

    /** In-place lower Cholesky factor of a symmetric matrix; false when it is not positive definite. */
    private boolean choleskyLower(float[] a, WorkerPool pool) {
        for (int j = 0; j < n; j++) {
            int rj = j * n;
            double s = a[rj + j];
            for (int k = 0; k < j; k++) {
                s -= (double) a[rj + k] * a[rj + k];
            }
            if (!(s > 0) || !Double.isFinite(s)) {
                return false;
            }
            float ljj = (float) Math.sqrt(s);
            a[rj + j] = ljj;
            final int jj = j;
            pool.parallelFor(n - j - 1, 64, (i0, i1) -> {
                for (int i = jj + 1 + i0; i < jj + 1 + i1; i++) {
                    int ri = i * n;
                    double t = a[ri + jj];
                    for (int k = 0; k < jj; k++) {
                        t -= (double) a[ri + k] * a[rj + k];
                    }
                    a[ri + jj] = (float) (t / ljj);
                }
            });
            for (int i = j + 1; i < n; i++) {
                a[rj + i] = 0f; // upper triangle of a lower factor
            }
        }
        return true;
    }

    /** In-place inverse of a lower-triangular matrix; false when the result is not finite. */
    private boolean invertLower(float[] a, WorkerPool pool) {
        double[] row = new double[n];
        for (int i = 0; i < n; i++) {
            int ri = i * n;
            double inv = 1.0 / a[ri + i];
            final int ii = i;
            // M[i][j] = -inv * sum_{k=j}^{i-1} L[i][k] M[k][j]; rows k < i already hold M
            pool.parallelFor(i, 64, (j0, j1) -> {
                for (int j = j0; j < j1; j++) {
                    double s = 0;
                    for (int k = j; k < ii; k++) {
                        s += (double) a[ri + k] * a[k * n + j];
                    }
                    row[j] = -inv * s;
                }
            });
            for (int j = 0; j < i; j++) {
                if (!Double.isFinite(row[j])) {
                    return false;
                }
                a[ri + j] = (float) row[j];
            }
            a[ri + i] = (float) inv;
        }
        return true;
    }
}
