package dev.edgellm.core.quant;

/**
 * The per-channel scaling AWQ/LET moves between an RMSNorm and the weights that read its output:
 * {@code norm(x) = g * x / rms(x)} feeds {@code W}; with {@code g' = g / s} and {@code W' = W diag(s)},
 * {@code W' norm'(x) = W norm(x)} exactly (the RMS does not involve {@code g}), for Llama's and
 * Gemma's norms alike (Gemma's GGUF norm weights already hold its +1).
 */
public final class ScaleFold {
    private ScaleFold() {}

    /** {@code g / s}, elementwise. */
    public static float[] norm(float[] g, float[] s) {
        if (g.length != s.length) {
            throw new IllegalArgumentException("norm of " + g.length + " weights for " + s.length + " scales");
        }
        float[] o = new float[g.length];
        for (int j = 0; j < g.length; j++) {
            o[j] = g[j] / s[j];
        }
        return o;
    }

    /** {@code W diag(s)}: column {@code c} of every row times {@code s[c]}. */
    public static float[] columns(float[] w, int rows, int cols, float[] s) {
        if (s.length != cols || w.length != rows * cols) {
            throw new IllegalArgumentException(rows + "x" + cols + " weights for " + s.length + " scales");
        }
        float[] o = new float[w.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                o[r * cols + c] = w[r * cols + c] * s[c];
            }
        }
        return o;
    }
}
