package dev.edgellm.core.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFileWriter;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.testing.SharedFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Quantizer} end to end on the real stories260K model. */
class QuantizerTest {
    /**
     * Size of {@code llama-quantize --tensor-type ffn_down=f16 stories260K.gguf out.gguf Q4_0} (llama.cpp
     * 34af94cd9; that version no longer falls back to F16 by itself for the 172-wide ffn_down). Its
     * tensors are byte-identical to our rtn output; our file is 96 bytes longer for the two metadata
     * keys that say how it was made.
     */
    static final long LLAMA_QUANTIZE_Q4_0_BYTES = 277_024;

    @TempDir
    Path dir;

    static Path stories() {
        return SharedFiles.model("stories260K.gguf");
    }

    /** The first 99 lines of the calibration text (the rest is held out for evaluation). */
    static Path calibrationHalf(Path dir) throws Exception {
        List<String> lines = Files.readAllLines(SharedFiles.shared().resolve("data/stories-calibration.txt"), StandardCharsets.UTF_8);
        Path p = dir.resolve("calib.txt");
        Files.write(p, lines.subList(0, 99), StandardCharsets.UTF_8);
        return p;
    }

    private static QuantReport quantize(Quantizer.Options o, Path out, ByteArrayOutputStream log) throws Exception {
        return new Quantizer(o, new PrintStream(log, true, StandardCharsets.UTF_8)).run(stories(), out);
    }

    @Test
    void rtnIsGgmlsReferenceTensorByTensorAndLlamaQuantizesSize() throws Exception {
        Path out = dir.resolve("rtn.gguf");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        QuantReport r = quantize(Quantizer.Options.of(GgmlType.Q4_0, QuantMethod.RTN, null, 2), out, log);
        String progress = log.toString(StandardCharsets.UTF_8);
        assertTrue(progress.contains("[  1/48] token_embd.weight") && progress.contains("[ 48/48]"), progress);
        assertTrue(r.table().contains("output.weight") && r.table().contains("rtn"), r.table());
        long size = Files.size(out);
        assertEquals(size, r.fileSize());
        assertTrue(Math.abs(size - LLAMA_QUANTIZE_Q4_0_BYTES) < 0.01 * LLAMA_QUANTIZE_Q4_0_BYTES, "size " + size);
        try (GgufFile in = GgufFile.open(stories()); GgufFile q = GgufFile.open(out)) {
            assertEquals(2, q.metadata().getInt("general.file_type"));
            assertEquals(2, q.metadata().getInt("general.quantization_version"));
            assertEquals("EdgeLLM", q.metadata().getString("general.quantized_by"));
            assertEquals("rtn", q.metadata().getString("edgellm.quantize.method"));
            for (var e : in.metadata().entries()) {
                assertEquals(e.value(), q.metadata().entry(e.key()).orElseThrow().value(), e.key());
            }
            assertEquals(List.copyOf(in.tensors().keySet()), List.copyOf(q.tensors().keySet()), "tensors in input order");
            for (GgufTensor t : in.tensors().values()) {
                GgufTensor o = q.tensor(t.name());
                float[] x = Quantizer.toFloat(t);
                byte[] want = new byte[(int) o.byteSize()];
                for (int row = 0; row < t.rows(); row++) {
                    RefQuantizer.row(o.type(), x, row * t.cols(), t.cols(), want, (int) (row * o.rowBytes()));
                }
                assertArrayEquals(want, o.data().toArray(ValueLayout.JAVA_BYTE), t.name() + " as " + o.type());
            }
            assertEquals(GgmlType.Q8_0, q.tensor("output.weight").type());
            assertEquals(GgmlType.F16, q.tensor("blk.2.ffn_down.weight").type());
        }
        // the output runs in our engine and mostly agrees with the float model
        float[][] a = logits(stories());
        float[][] b = logits(out);
        int same = 0;
        for (int p = 0; p < a.length; p++) {
            same += argmax(a[p]) == argmax(b[p]) ? 1 : 0;
        }
        assertTrue(same >= 0.7 * a.length, same + " of " + a.length + " positions agree on the top token");
    }

    @Test
    void q8_0TargetAndFileType() throws Exception {
        Path out = dir.resolve("q8.gguf");
        quantize(Quantizer.Options.of(GgmlType.Q8_0, QuantMethod.RTN, null, 1), out, new ByteArrayOutputStream());
        try (GgufFile q = GgufFile.open(out)) {
            assertEquals(7, q.metadata().getInt("general.file_type"));
            assertEquals(GgmlType.Q8_0, q.tensor("token_embd.weight").type());
            assertEquals(GgmlType.Q8_0, q.tensor("blk.0.ffn_gate.weight").type());
            assertEquals(GgmlType.F16, q.tensor("blk.0.ffn_down.weight").type());
        }
    }

    /**
     * A short calibration (512 tokens): every calibrated method lowers the output error of every
     * Q4_0 block weight below rtn's, and the bytes do not depend on the thread count.
     */
    @Test
    void calibratedMethodsBeatRtnPerTensorAndAreDeterministic() throws Exception {
        Path cal = calibrationHalf(dir);
        for (QuantMethod m : List.of(QuantMethod.GPTQ, QuantMethod.GPTAQ, QuantMethod.AWQ_GPTAQ)) {
            Path one = dir.resolve(m.id() + "-1.gguf");
            Path three = dir.resolve(m.id() + "-3.gguf");
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            QuantReport r = quantize(new Quantizer.Options(GgmlType.Q4_0, m, cal, 1, 128, 512, false), one, log);
            quantize(new Quantizer.Options(GgmlType.Q4_0, m, cal, 3, 128, 512, false), three, new ByteArrayOutputStream());
            assertEquals(-1, Files.mismatch(one, three), m + ": 1 and 3 threads wrote different files");
            assertTrue(r.calibration().contains("512 of"), r.calibration());
            assertTrue(log.toString(StandardCharsets.UTF_8).contains("block 5/5 done"), log.toString(StandardCharsets.UTF_8));
            int better = 0;
            int measured = 0;
            for (QuantReport.Row row : r.rows()) {
                if (row.to() == GgmlType.Q4_0 && row.name().startsWith("blk.")) {
                    measured++;
                    better += row.error() < row.rtnError() ? 1 : 0;
                }
            }
            assertEquals(30, measured, r.table());
            assertTrue(better >= 28, m + ": " + better + " of 30 tensors better than rtn\n" + r.table());
            try (GgufFile q = GgufFile.open(one)) {
                assertEquals(m.id() + " (calibrated on calib.txt)", q.metadata().getString("edgellm.quantize.method"));
                assertTrue(Math.abs(Files.size(one) - LLAMA_QUANTIZE_Q4_0_BYTES) < 0.01 * LLAMA_QUANTIZE_Q4_0_BYTES);
                if (m.foldsScales()) {
                    assertTrue(r.rows().stream().anyMatch(row -> row.method().equals("awq-fold")), r.table());
                }
            }
        }
    }

    /** An F16 or BF16 model (stories260K converted here) is quantized from its own values. */
    @Test
    void halfPrecisionInputs() throws Exception {
        for (GgmlType half : List.of(GgmlType.F16, GgmlType.BF16)) {
            Path in = dir.resolve(half + ".gguf");
            try (GgufFile f = GgufFile.open(stories())) {
                List<GgufFileWriter.TensorSpec> specs = new java.util.ArrayList<>();
                for (GgufTensor t : f.tensors().values()) {
                    specs.add(new GgufFileWriter.TensorSpec(t.name(), t.dims().length > 1 ? half : t.type(), t.dims()));
                }
                try (GgufFileWriter w = GgufFileWriter.create(in, false, new java.util.ArrayList<>(f.metadata().entries()), specs)) {
                    for (GgufTensor t : f.tensors().values()) {
                        w.writeTensor(t.name(), t.dims().length > 1 ? Quantizer.convert(half, Quantizer.toFloat(t), t.rows(), t.cols()) : t.data().toArray(ValueLayout.JAVA_BYTE));
                    }
                    w.commit();
                }
            }
            Path out = dir.resolve(half + "-q4.gguf");
            new Quantizer(Quantizer.Options.of(GgmlType.Q4_0, QuantMethod.RTN, null, 2), new PrintStream(new ByteArrayOutputStream())).run(in, out);
            try (GgufFile src = GgufFile.open(in); GgufFile q = GgufFile.open(out)) {
                GgufTensor t = src.tensor("blk.1.attn_v.weight");
                byte[] want = new byte[(int) q.tensor(t.name()).byteSize()];
                float[] x = Quantizer.toFloat(t);
                for (int row = 0; row < t.rows(); row++) {
                    RefQuantizer.q4_0(x, row * t.cols(), t.cols(), want, row * 36);
                }
                assertArrayEquals(want, q.tensor(t.name()).data().toArray(ValueLayout.JAVA_BYTE), half.toString());
                assertEquals(GgmlType.F16, q.tensor("blk.1.ffn_down.weight").type());
            }
        }
    }

    @Test
    void badInputsFailBeforeAnyWork() throws Exception {
        Path out = dir.resolve("x.gguf");
        Quantizer.Options gptq = Quantizer.Options.of(GgmlType.Q4_0, QuantMethod.GPTQ, null, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> quantize(gptq, out, new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("calibration"), e.getMessage());
        Quantizer.Options missing = Quantizer.Options.of(GgmlType.Q4_0, QuantMethod.GPTAQ, dir.resolve("nope.txt"), 1);
        NoSuchFileException nf = assertThrows(NoSuchFileException.class, () -> quantize(missing, out, new ByteArrayOutputStream()));
        assertEquals("calibration file not found", nf.getReason());
        Quantizer q4 = new Quantizer(Quantizer.Options.of(GgmlType.Q4_0, QuantMethod.RTN, null, 1), new PrintStream(new ByteArrayOutputStream()));
        e = assertThrows(IllegalArgumentException.class, () -> q4.run(SharedFiles.model("gemma3-tiny-q4_0.gguf"), out));
        assertTrue(e.getMessage().contains("already Q4_0"), e.getMessage());
        assertTrue(Files.notExists(out));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.filter(p -> p.getFileName().toString().startsWith(".")).count(), "no temporary file left");
        }
    }

    static float[][] logits(Path model) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(model, b); Session s = m.newSession(64, 16)) {
            int[] tokens = m.tokenizer().encode("Once upon a time, there was a little boy named Tim. He liked to play with his red ball in the park.", true, false);
            float[][] out = new float[tokens.length][];
            s.ingest(tokens, 0, tokens.length, (pos, l) -> out[pos] = l.clone());
            return out;
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
