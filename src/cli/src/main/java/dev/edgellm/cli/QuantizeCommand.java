package dev.edgellm.cli;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFileWriter;
import dev.edgellm.core.quant.QuantMethod;
import dev.edgellm.core.quant.QuantReport;
import dev.edgellm.core.quant.Quantizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code edgellm quantize IN.gguf OUT.gguf [--type q4_0|q8_0] [--calibration TEXT] [--method M] [-t N]
 * [--force]}: writes a Q4_0 (or Q8_0) GGUF from an F32/F16/BF16 one. Progress on stderr, the
 * per-tensor summary table on stdout.
 */
final class QuantizeCommand {
    static final String USAGE = """
            quantize IN.gguf OUT.gguf [--type q4_0|q8_0] [--calibration TEXT] [--method %s]
                       [-t N] [--calibration-ctx N] [--calibration-tokens N] [--force]""".formatted(String.join("|", methodIds()));


    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        return run(argv, out, err, GgufFileWriter.FILE_CHANNEL);
    }

    static int run(String[] argv, PrintStream out, PrintStream err, GgufFileWriter.SinkOpener opener) throws Exception {
        Args a = new Args("quantize", argv, 1,
                Set.of("--type", "--calibration", "--method", "--threads", "--calibration-ctx", "--calibration-tokens"),
                Set.of("--force"), Map.of("-t", "--threads"));
        List<String> files = a.positional(2, "IN.gguf OUT.gguf");
        GgmlType type = switch (a.get("--type", "q4_0").toLowerCase(java.util.Locale.ROOT)) {
            case "q4_0" -> GgmlType.Q4_0;
            case "q8_0" -> GgmlType.Q8_0;
            default -> throw new UsageException("quantize: --type must be q4_0 or q8_0, got '" + a.get("--type") + "'");
        };
        Path calibration = a.get("--calibration") == null ? null : Path.of(a.get("--calibration"));
        QuantMethod method;
        try {
            method = a.get("--method") != null ? QuantMethod.of(a.get("--method")) : calibration != null ? QuantMethod.BEST : QuantMethod.RTN;
        } catch (IllegalArgumentException e) {
            throw new UsageException("quantize: " + e.getMessage());
        }
        if (method.needsCalibration() && calibration == null) {
            throw new UsageException("quantize: --method " + method + " needs --calibration TEXT");
        }
        int threads = a.getInt("--threads", Runtime.getRuntime().availableProcessors());
        int ctx = a.getInt("--calibration-ctx", 512);
        int tokens = a.getInt("--calibration-tokens", 0);
        if (threads < 1 || ctx < 2 || tokens < 0) {
            throw new UsageException("quantize: need --threads >= 1, --calibration-ctx >= 2, --calibration-tokens >= 0");
        }
        Quantizer.Options o = new Quantizer.Options(type, method, calibration, threads, ctx, tokens, a.flag("--force"));
        QuantReport report;
        try (Progress progress = Progress.of(err, "quantize", "tensors")) {
            report = new Quantizer(o, progress.lines(), opener).listener(progress::update).run(Path.of(files.get(0)), Path.of(files.get(1)));
        }
        out.print(report.table());
        out.flush();
        return 0;
    }

    private static List<String> methodIds() {
        return java.util.Arrays.stream(QuantMethod.values()).map(QuantMethod::id).toList();
    }
}
