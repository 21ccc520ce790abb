package dev.edgellm.core.quant;

import dev.edgellm.core.gguf.GgmlType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * What {@code edgellm quantize} did: one row per tensor written in a new type, with its relative
 * error next to what ggml's reference rounding gives, and the totals.
 */
public final class QuantReport {

    /**
     * One tensor.
     *
     * @param rtnError relative error of ggml's reference rounding (output error weighted by the
     *                 inputs' Hessian when calibrated, plain squared error otherwise); NaN when not
     *                 measured (float conversions)
     * @param error    the same for what was written
     * @param note     e.g. the AWQ exponent chosen
     */
    public record Row(String name, GgmlType from, GgmlType to, String method, double rtnError, double error, String note) {}

    private final List<Row> rows = new ArrayList<>();
    private long fileSize;
    private long inputSize;
    private double seconds;
    private int copied;
    private String calibration = "";

    synchronized void add(Row r) {
        rows.add(r);
    }

    void copied() {
        copied++;
    }

    void finish(long inputSize, long fileSize, double seconds) {
        this.inputSize = inputSize;
        this.fileSize = fileSize;
        this.seconds = seconds;
    }

    void calibration(String what) {
        this.calibration = what;
    }

    public List<Row> rows() {
        return Collections.unmodifiableList(rows);
    }

    /** The row of tensor {@code name}, or null. */
    public Row row(String name) {
        for (Row r : rows) {
            if (r.name().equals(name)) {
                return r;
            }
        }
        return null;
    }

    public long fileSize() {
        return fileSize;
    }

    public long inputSize() {
        return inputSize;
    }

    public double seconds() {
        return seconds;
    }

    /** Tensors written unchanged. */
    public int copiedTensors() {
        return copied;
    }

    /** How the calibration text was used, or "" without one. */
    public String calibration() {
        return calibration;
    }

    /** The summary table: per tensor, the error of rtn and of the method, and the totals. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        int w = 24;
        for (Row r : rows) {
            w = Math.max(w, r.name().length());
        }
        String fmt = "%-" + w + "s  %-5s %-5s %-9s %10s %10s %8s  %s%n";
        sb.append(String.format(Locale.ROOT, fmt, "tensor", "from", "to", "method", "err rtn", "err", "change", ""));
        double sumRtn = 0;
        double sumErr = 0;
        int measured = 0;
        for (Row r : rows) {
            boolean m = !Double.isNaN(r.error());
            if (m && !Double.isNaN(r.rtnError())) {
                sumRtn += r.rtnError();
                sumErr += r.error();
                measured++;
            }
            sb.append(String.format(Locale.ROOT, fmt, r.name(), r.from(), r.to(), r.method(),
                    m ? String.format(Locale.ROOT, "%.3e", r.rtnError()) : "-", m ? String.format(Locale.ROOT, "%.3e", r.error()) : "-",
                    m && r.rtnError() > 0 ? String.format(Locale.ROOT, "%+.1f%%", 100 * (r.error() / r.rtnError() - 1)) : "-",
                    r.note() == null ? "" : r.note()));
        }
        if (measured > 0) {
            sb.append(String.format(Locale.ROOT, fmt, "mean of " + measured, "", "", "", String.format(Locale.ROOT, "%.3e", sumRtn / measured),
                    String.format(Locale.ROOT, "%.3e", sumErr / measured), sumRtn > 0 ? String.format(Locale.ROOT, "%+.1f%%", 100 * (sumErr / sumRtn - 1)) : "-", ""));
        }
        sb.append(String.format(Locale.ROOT, "%d tensors quantized or converted, %d copied; %,d -> %,d bytes (%.1f%%) in %.1f s%n",
                rows.size(), copied, inputSize, fileSize, inputSize > 0 ? 100.0 * fileSize / inputSize : 0, seconds));
        if (!calibration.isEmpty()) {
            sb.append("calibration: ").append(calibration).append('\n');
        }
        return sb.toString();
    }
}
