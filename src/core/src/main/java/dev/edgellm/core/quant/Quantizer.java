package dev.edgellm.core.quant;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFileWriter;
import dev.edgellm.core.gguf.GgufMetadata;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.tensor.Codecs;
import dev.edgellm.core.util.WorkerPool;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code edgellm quantize}: reads an F32/F16/BF16 (or Q8_0) GGUF model and writes a Q4_0 or Q8_0
 * one that any GGUF runtime loads (the block layout is the standard one; only the choice of scales
 * and levels differs between methods).
 *
 * <p>Without calibration every tensor is quantized on its own, in file order ({@code rtn}, or the
 * unweighted clipping search). With a calibration text the model is run block by block on it
 * ({@link CalibratedQuantizer}), each block's weights are quantized with the statistics of their
 * own inputs, and the next block sees the quantized ones. Output is written to a temporary file
 * and renamed at the end; progress goes to {@code log}.
 */
public final class Quantizer {
    /** ggml's LLAMA_FTYPE_MOSTLY_Q4_0 and _Q8_0. */
    static final int FTYPE_Q4_0 = 2;
    static final int FTYPE_Q8_0 = 7;
    /** GGML_QNT_VERSION, which llama-quantize writes. */
    static final int QNT_VERSION = 2;

    /**
     * @param type               Q4_0 or Q8_0
     * @param method             how scales and levels are chosen
     * @param calibration        calibration text, or null
     * @param threads            compute threads
     * @param calibrationContext tokens per calibration sequence (each starts with BOS)
     * @param calibrationTokens  most calibration tokens used (0: all)
     * @param force              replace an existing output file
     */
    public record Options(GgmlType type, QuantMethod method, Path calibration, int threads, int calibrationContext,
                          int calibrationTokens, boolean force) {
        public Options {
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1, got " + threads);
            }
            if (calibrationContext < 2) {
                throw new IllegalArgumentException("calibration context must be at least 2 tokens, got " + calibrationContext);
            }
            if (calibrationTokens < 0) {
                throw new IllegalArgumentException("calibration token limit must not be negative");
            }
        }

        /** Defaults: 512-token calibration sequences, the whole text, no overwrite. */
        public static Options of(GgmlType type, QuantMethod method, Path calibration, int threads) {
            return new Options(type, method, calibration, threads, 512, 0, false);
        }

        public Options withForce(boolean f) {
            return new Options(type, method, calibration, threads, calibrationContext, calibrationTokens, f);
        }

        public Options withCalibration(int context, int tokens) {
            return new Options(type, method, calibration, threads, context, tokens, force);
        }
    }

    /** Told after each tensor is written (for a progress line); on the quantizing thread. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = (done, total) -> { };

        void tensorDone(int done, int total);
    }

    private final Options o;
    private final PrintStream log;
    private final GgufFileWriter.SinkOpener opener;
    private Listener listener = Listener.NONE;

    /** Reports each tensor written to {@code l} as well as to the log. */
    public Quantizer listener(Listener l) {
        this.listener = l == null ? Listener.NONE : l;
        return this;
    }

    public Quantizer(Options options, PrintStream log) {
        this(options, log, GgufFileWriter.FILE_CHANNEL);
    }

    /** With a custom sink for the output (tests make writes fail with it). */
    public Quantizer(Options options, PrintStream log, GgufFileWriter.SinkOpener opener) {
        this.o = options;
        this.log = log;
        this.opener = opener;
    }

    /** Quantizes {@code in} into {@code out}. */
    public QuantReport run(Path in, Path out) throws IOException {
        long t0 = System.nanoTime();
        // cheap checks first: nothing is computed for a command that cannot succeed
        GgufFileWriter.checkTarget(out, o.force());
        if (o.method().needsCalibration() && o.calibration() == null) {
            throw new IllegalArgumentException("method " + o.method() + " needs a calibration text (--calibration FILE)");
        }
        if (o.calibration() != null && !Files.isRegularFile(o.calibration())) {
            throw new NoSuchFileException(o.calibration().toString(), null, "calibration file not found");
        }
        if (Files.exists(out) && Files.isSameFile(in, out)) {
            throw new IllegalArgumentException("the output " + out + " is the input file");
        }
        QuantReport report = new QuantReport();
        try (GgufFile f = GgufFile.open(in)) {
            boolean calibrated = o.calibration() != null && o.method() != QuantMethod.RTN;
            TensorPlan plan = TensorPlan.of(f, o.type(), calibrated && o.method().foldsScales());
            for (String w : plan.warnings()) {
                log.println("warning: " + w);
            }
            if (o.calibration() != null && o.method() == QuantMethod.RTN) {
                log.println("warning: rtn does not use the calibration text (the calibrated methods: " + QuantMethod.names() + ")");
            }
            List<GgufFileWriter.TensorSpec> specs = new ArrayList<>();
            for (TensorPlan.Item i : plan.items()) {
                specs.add(new GgufFileWriter.TensorSpec(i.name(), i.type(), i.tensor().dims()));
            }
            String methodNote = o.method().id() + (calibrated ? " (calibrated on " + o.calibration().getFileName() + ")" : "");
            try (WorkerPool pool = new WorkerPool(o.threads(), "edgellm-quantize");
                 GgufFileWriter w = GgufFileWriter.create(out, o.force(), metadata(f, methodNote), specs, opener)) {
                Progress progress = new Progress(log, plan.items().size(), t0, listener);
                TensorQuantizer tq = new TensorQuantizer(pool);
                Set<String> done = new HashSet<>();
                if (calibrated) {
                    new CalibratedQuantizer(f, plan, o, w, tq, pool, report, progress, done).run();
                }
                QuantMethod alone = o.method() == QuantMethod.RTN ? QuantMethod.RTN : QuantMethod.CLIP;
                for (TensorPlan.Item i : plan.items()) {
                    if (!done.contains(i.name())) {
                        writeAlone(i, alone, w, tq, report, progress);
                    }
                }
                w.commit();
                report.finish(f.fileSize(), Files.size(out), (System.nanoTime() - t0) / 1e9);
            }
        }
        return report;
    }

    /** Input metadata with the file type and a note of how it was made. */
    private List<GgufMetadata.Entry> metadata(GgufFile f, String method) {
        List<GgufMetadata.Entry> md = new ArrayList<>(f.metadata().entries());
        md = GgufFileWriter.with(md, GgufFileWriter.u32("general.quantization_version", QNT_VERSION));
        md = GgufFileWriter.with(md, GgufFileWriter.u32("general.file_type", o.type() == GgmlType.Q4_0 ? FTYPE_Q4_0 : FTYPE_Q8_0));
        md = GgufFileWriter.with(md, GgufFileWriter.string("general.quantized_by", "EdgeLLM"));
        md = GgufFileWriter.with(md, GgufFileWriter.string("edgellm.quantize.method", method));
        return md;
    }

    /** One tensor without activation statistics: copied, converted, or quantized on its own. */
    static void writeAlone(TensorPlan.Item i, QuantMethod method, GgufFileWriter w, TensorQuantizer tq, QuantReport report,
                           Progress progress) throws IOException {
        GgufTensor t = i.tensor();
        if (i.action() == TensorPlan.Action.COPY) {
            w.writeTensor(i.name(), t.data());
            report.copied();
            progress.tensor(i.name(), "copied " + t.type());
            return;
        }
        float[] x = toFloat(t);
        if (i.action() == TensorPlan.Action.CONVERT) {
            w.writeTensor(i.name(), convert(i.type(), x, t.rows(), t.cols()));
            report.add(new QuantReport.Row(i.name(), t.type(), i.type(), "convert", Double.NaN, Double.NaN, null));
            progress.tensor(i.name(), t.type() + " -> " + i.type());
            return;
        }
        BlockGrid grid = BlockGrid.of(i.type());
        TensorQuantizer.Result r = tq.quantize(grid, method, x, t.rows(), t.cols(), null, null);
        w.writeTensor(i.name(), r.data());
        report.add(new QuantReport.Row(i.name(), t.type(), i.type(), method.id(), r.rtnError(), r.error(), null));
        progress.tensor(i.name(), String.format(Locale.ROOT, "%s -> %s %s, rel. error %.3e (rtn %.3e)", t.type(), i.type(), method, r.error(), r.rtnError()));
    }

    /** A tensor decoded to floats, row-major {@code [rows][cols]}: the one F32 copy held at a time. */
    static float[] toFloat(GgufTensor t) {
        float[] x = new float[Math.multiplyExact(t.rows(), t.cols())];
        for (int r = 0; r < t.rows(); r++) {
            Codecs.dequantizeRow(t.type(), t.data(), r * t.rowBytes(), x, r * t.cols(), t.cols());
        }
        return x;
    }

    /** Rows encoded as a float type (F32, F16, BF16). */
    static byte[] convert(GgmlType type, float[] x, int rows, int cols) {
        long rowBytes = type.byteSize(cols);
        byte[] out = new byte[Math.toIntExact(rowBytes * rows)];
        for (int r = 0; r < rows; r++) {
            RefQuantizer.row(type, x, r * cols, cols, out, (int) (r * rowBytes));
        }
        return out;
    }

    /** Wraps bytes for a tensor swapped into the running model. */
    static GgufTensor tensor(GgufTensor like, GgmlType type, MemorySegment data) {
        return new GgufTensor(like.name(), type, like.dims(), 0, data);
    }

    /** Progress on stderr: one line per tensor with its index, and the time since the start. */
    static final class Progress {
        private final PrintStream log;
        private final int total;
        private final long t0;
        private final Listener listener;
        private int done;

        Progress(PrintStream log, int total, long t0, Listener listener) {
            this.log = log;
            this.total = total;
            this.t0 = t0;
            this.listener = listener;
        }

        void tensor(String name, String what) {
            done++;
            log.printf(Locale.ROOT, "[%3d/%d] %-28s %s  (%.1f s)%n", done, total, name, what, elapsed());
            log.flush();
            listener.tensorDone(done, total);
        }

        void note(String what) {
            log.printf(Locale.ROOT, "%s  (%.1f s)%n", what, elapsed());
            log.flush();
        }

        double elapsed() {
            return (System.nanoTime() - t0) / 1e9;
        }
    }
}
