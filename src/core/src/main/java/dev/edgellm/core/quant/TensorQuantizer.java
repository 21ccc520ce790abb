package dev.edgellm.core.quant;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.util.WorkerPool;
import java.lang.foreign.MemorySegment;

/**
 * Quantizes one weight matrix (held in float) with a method, and measures the result next to
 * ggml's reference rounding: the relative output error over the calibration text
 * ({@link InputStats#relativeError}) when there are statistics, the relative squared error of the
 * weights otherwise.
 */
final class TensorQuantizer {
    /** GPTQ's damping: a fraction of the mean diagonal added to the Hessian. */
    static final double DAMP = 0.01;

    /** Encoded data and its error next to that of {@code rtn}. */
    record Result(byte[] data, double rtnError, double error) {}

    private final WorkerPool pool;

    TensorQuantizer(WorkerPool pool) {
        this.pool = pool;
    }

    /**
     * @param w      the weights {@code [rows][cols]} as the model has them (not modified)
     * @param stats  the inputs' statistics, or null (no calibration)
     * @param scales per-input-channel factors folded into the preceding norm ({@code W diag(s)} is
     *               quantized; the norm is divided by {@code s}), or null
     */
    Result quantize(BlockGrid grid, QuantMethod method, float[] w, int rows, int cols, InputStats stats, float[] scales) {
        byte[] data = encode(grid, method, w, rows, cols, stats, scales);
        double err = error(grid.type(), data, w, rows, cols, stats, scales);
        double rtn = method == QuantMethod.RTN && scales == null ? err
                : error(grid.type(), reference(grid, w, rows, cols), w, rows, cols, stats, null);
        return new Result(data, rtn, err);
    }

    /** The encoding of {@code W diag(scales)} by {@code method}, without measuring it. */
    byte[] encode(BlockGrid grid, QuantMethod method, float[] w, int rows, int cols, InputStats stats, float[] scales) {
        float[] ws = scales == null ? w : ScaleFold.columns(w, rows, cols, scales);
        InputStats st = scales == null || stats == null ? stats : stats.scaled(scales);
        return switch (method) {
            case RTN -> reference(grid, ws, rows, cols);
            case CLIP -> clip(grid, ws, rows, cols, st == null ? null : st.h().meanSquare());
            case GPTQ, GPTAQ, AWQ_GPTAQ -> {
                if (st == null) {
                    throw new IllegalArgumentException("method " + method + " needs calibration data");
                }
                float[] u = st.h().inverseCholeskyUpper(DAMP, pool);
                float[] target = method.asymmetric() && st.asymmetric() ? st.cross().target(ws, rows, st.h(), u, pool) : ws;
                yield Gptq.quantize(grid, target, rows, cols, u, pool);
            }
        };
    }

    /** ggml's reference encoding of every row. */
    byte[] reference(BlockGrid grid, float[] w, int rows, int cols) {
        int rowBytes = Math.toIntExact(grid.type().byteSize(cols));
        byte[] out = new byte[Math.multiplyExact(rows, rowBytes)];
        pool.parallelFor(rows, 16, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                grid.reference(w, r * cols, cols, out, r * rowBytes);
            }
        });
        return out;
    }

    /** The clipping search on every block, weighted by {@code meanSquare} (per input channel) or unweighted. */
    byte[] clip(BlockGrid grid, float[] w, int rows, int cols, float[] meanSquare) {
        int rowBytes = Math.toIntExact(grid.type().byteSize(cols));
        byte[] out = new byte[Math.multiplyExact(rows, rowBytes)];
        pool.parallelFor(rows, 4, (r0, r1) -> {
            ScaleSearch search = new ScaleSearch(grid);
            int[] levels = new int[BlockGrid.QK];
            for (int r = r0; r < r1; r++) {
                for (int b = 0; b < cols / BlockGrid.QK; b++) {
                    int c0 = b * BlockGrid.QK;
                    float d = search.search(w, r * cols + c0, meanSquare, c0, levels, 0);
                    grid.pack(d, levels, 0, out, r * rowBytes + b * grid.blockBytes());
                }
            }
        });
        return out;
    }

    /** The relative error of {@code data} (of {@code W diag(scales)} when scales are given) against {@code w}. */
    double error(GgmlType type, byte[] data, float[] w, int rows, int cols, InputStats stats, float[] scales) {
        float[] q = dequantized(type, data, rows, cols, scales);
        if (stats != null) {
            return stats.relativeError(q, w, rows, pool);
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < w.length; i++) {
            double d = q[i] - w[i];
            num += d * d;
            den += (double) w[i] * w[i];
        }
        return den > 0 ? num / den : 0;
    }

    /** The absolute output error (see {@link InputStats#absoluteError}). */
    double absoluteError(GgmlType type, byte[] data, float[] w, int rows, int cols, InputStats stats, float[] scales) {
        return stats.absoluteError(dequantized(type, data, rows, cols, scales), w, rows, pool);
    }

    /** Decoded rows, divided back by the column scales when there are any (the coordinates of the original weights). */
    static float[] dequantized(GgmlType type, byte[] data, int rows, int cols, float[] scales) {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        MemorySegment s = MemorySegment.ofArray(data);
        long rowBytes = type.byteSize(cols);
        for (int r = 0; r < rows; r++) {
            Codecs.dequantizeRow(type, s, r * rowBytes, out, r * cols, cols);
            if (scales != null) {
                for (int c = 0; c < cols; c++) {
                    out[r * cols + c] /= scales[c];
                }
            }
        }
        return out;
    }
}
