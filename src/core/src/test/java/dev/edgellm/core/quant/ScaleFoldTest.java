package dev.edgellm.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFileWriter;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.testing.SharedFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * AWQ/LET scales folded into the RMSNorm in front of q/k/v and gate/up leave the float model the
 * same function: the logits of every position of a prompt do not change (beyond float rounding),
 * for the Llama and the Gemma 3 forward pass. Scales spread over 1/4..4 per channel, far wider
 * than the search picks. Both models are all-F32 and run with a float32 KV cache: with a float16
 * cache or weights that make the engine round activations (to F16 or Q8_0), a rounding boundary
 * can fall differently and the two drift by ~1e-3, which is rounding, not the fold.
 */
class ScaleFoldTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.gguf", "gemma3-tiny-mixed.gguf"})
    void foldedScalesLeaveTheFloatModelsLogitsUnchanged(String model) throws Exception {
        Path in = SharedFiles.model(model);
        Path plain = dir.resolve("plain.gguf");
        Path folded = dir.resolve("folded.gguf");
        int layers;
        try (GgufFile f = GgufFile.open(in)) {
            layers = f.metadata().getInt(f.metadata().architecture() + ".block_count");
            Map<String, float[]> scales = new HashMap<>();
            Random r = new Random(7);
            for (int l = 0; l < layers; l++) {
                for (String norm : List.of("attn_norm", "ffn_norm")) {
                    int n = f.tensor("blk." + l + "." + norm + ".weight").cols();
                    float[] s = new float[n];
                    for (int j = 0; j < n; j++) {
                        s[j] = (float) Math.pow(4, 2 * r.nextDouble() - 1);
                    }
                    scales.put("blk." + l + "." + norm + ".weight", s);
                    for (String w : norm.equals("attn_norm") ? List.of("attn_q", "attn_k", "attn_v") : List.of("ffn_gate", "ffn_up")) {
                        scales.put("blk." + l + "." + w + ".weight", s);
                    }
                }
            }
            write(f, plain, scales, false);
            write(f, folded, scales, true);
        }
        float[][] a = logits(plain);
        float[][] b = logits(folded);
        double worst = 0;
        double scale = 0;
        int sameTop = 0;
        for (int p = 0; p < a.length; p++) {
            for (int i = 0; i < a[p].length; i++) {
                worst = Math.max(worst, Math.abs(a[p][i] - b[p][i]));
                scale = Math.max(scale, Math.abs(a[p][i]));
            }
            sameTop += argmax(a[p]) == argmax(b[p]) ? 1 : 0;
        }
        assertEquals(a.length, sameTop, "every position's top token");
        System.out.println(model + ": largest logit change " + worst + ", largest logit " + scale);
        // Llama: float rounding only (~1e-5 of 22 measured). Gemma's GELU looks its input up in a
        // float16 table (llama.cpp's), so a last-bit change of a gate value can move one GELU output
        // by a float16 step (~9e-4 of 4.3 measured).
        double tolerance = model.startsWith("gemma") ? 5e-4 : 2e-6;
        assertTrue(worst < tolerance * scale, model + ": logits moved by up to " + worst + " (largest logit " + scale + ")");
    }

    /** The model with the scaled tensors in F32: folded ({@code g/s}, {@code W diag(s)}) or as they are. */
    private static void write(GgufFile f, Path out, Map<String, float[]> scales, boolean fold) throws Exception {
        List<GgufFileWriter.TensorSpec> specs = new ArrayList<>();
        for (GgufTensor t : f.tensors().values()) {
            specs.add(new GgufFileWriter.TensorSpec(t.name(), GgmlType.F32, t.dims()));
        }
        try (GgufFileWriter w = GgufFileWriter.create(out, false, new ArrayList<>(f.metadata().entries()), specs)) {
            for (GgufTensor t : f.tensors().values()) {
                float[] s = scales.get(t.name());
                float[] x = Quantizer.toFloat(t);
                if (fold && s != null) {
                    x = t.name().endsWith("_norm.weight") ? ScaleFold.norm(x, s) : ScaleFold.columns(x, t.rows(), t.cols(), s);
                }
                w.writeTensor(t.name(), Quantizer.convert(GgmlType.F32, x, t.rows(), t.cols()));
            }
            w.commit();
        }
    }

    private static float[][] logits(Path model) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(model, b); Session s = m.newSession(64, 16, false)) {
            int[] tokens = m.tokenizer().encode("Once upon a time, there was a little girl named Lily. She loved to play", true, false);
            float[][] out = new float[tokens.length][];
            s.ingest(tokens, 0, tokens.length, (pos, l) -> out[pos] = l.clone());
            return out;
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void foldRejectsMismatchedShapes() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ScaleFold.norm(new float[3], new float[4]));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ScaleFold.columns(new float[6], 2, 3, new float[2]));
    }
}
