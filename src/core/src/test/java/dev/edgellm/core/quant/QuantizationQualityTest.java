package dev.edgellm.core.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.eval.KlDivergence;
import dev.edgellm.core.eval.LogitsFile;
import dev.edgellm.core.eval.Perplexity;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.testing.SharedFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance measure in small: stories260K calibrated on the first 99 lines of the calibration
 * text (only 1,024 tokens here, to keep the test short; the README's table uses all of them),
 * evaluated on the held-out lines 100-195 with llama-perplexity's method at {@code -c 128}: the
 * default method's mean KL divergence to the F32 model is at least 20 % below rtn's.
 */
class QuantizationQualityTest {

    @TempDir
    Path dir;

    @Test
    void calibratedDefaultIsAtLeast20PercentCloserToF32ThanRtnOnHeldOutText() throws Exception {
        Path f32 = SharedFiles.model("stories260K.gguf");
        Path cal = QuantizerTest.calibrationHalf(dir);
        Path rtn = dir.resolve("rtn.gguf");
        Path best = dir.resolve("best.gguf");
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        new Quantizer(Quantizer.Options.of(GgmlType.Q4_0, QuantMethod.RTN, null, 2), quiet).run(f32, rtn);
        new Quantizer(new Quantizer.Options(GgmlType.Q4_0, QuantMethod.BEST, cal, 2, 128, 1024, false), quiet).run(f32, best);

        List<String> lines = Files.readAllLines(SharedFiles.shared().resolve("data/stories-calibration.txt"), StandardCharsets.UTF_8);
        String heldOut = String.join("\n", lines.subList(99, lines.size())) + "\n";
        Path base = dir.resolve("base.kld");
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(f32, b)) {
            int[] tokens = Perplexity.tokenize(m.tokenizer(), heldOut);
            int chunks = Perplexity.chunks(tokens.length, 128);
            try (LogitsFile.Writer w = new LogitsFile.Writer(base, 128, m.config().vocabSize(), chunks, tokens)) {
                Perplexity.run(m, tokens, 128, 64, w, null);
                w.commit();
            }
        }
        KlDivergence klRtn = kl(rtn, base);
        KlDivergence klBest = kl(best, base);
        System.out.printf("held-out KL to F32: rtn %.4f (same top %.1f%%), %s %.4f (same top %.1f%%)%n",
                klRtn.meanKld(), 100 * klRtn.sameTop(), QuantMethod.BEST, klBest.meanKld(), 100 * klBest.sameTop());
        assertTrue(klBest.meanKld() <= 0.8 * klRtn.meanKld(), QuantMethod.BEST + " " + klBest.meanKld() + " vs rtn " + klRtn.meanKld());
        assertTrue(klBest.sameTop() > klRtn.sameTop());
        assertTrue(Math.abs(Files.size(best) - Files.size(rtn)) <= 0.01 * Files.size(rtn), "same file size within 1 %");
    }

    private static KlDivergence kl(Path model, Path base) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(model, b); LogitsFile.Reader r = new LogitsFile.Reader(base)) {
            return Perplexity.compare(m, r, 64, null);
        }
    }
}
