package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.BackendOptions;
import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.backend.Calibration;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Prompt-processing and decode speed of one backend on one model (not a test: run by hand).
 * {@code SpeedDriver MODEL BACKEND [PROMPT_TOKENS] [DECODE_TOKENS] [THREADS]}: loads the model,
 * warms up, then ingests PROMPT_TOKENS (default 128) in batches of 64 and decodes DECODE_TOKENS
 * (default 64) one at a time, and prints tokens per second for each phase.
 * {@code SpeedDriver MODEL calibrate}: runs the startup calibration over every usable backend instead.
 */
public final class SpeedDriver {
    private SpeedDriver() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        String backendId = args[1];
        if (backendId.equals("calibrate")) {
            try (GgufFile f = GgufFile.open(model)) {
                Calibration.Outcome o = Calibration.run(f, Backends.probeAll(), BackendOptions.defaults(), 2_000_000_000L, null, System.out::println);
                System.out.println("calibration chose " + o.chosen() + ": " + o.reason());
            }
            return;
        }
        int prompt = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int decode = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : Runtime.getRuntime().availableProcessors();
        Backends.Selection sel = Backends.select(backendId);
        long t0 = System.nanoTime();
        try (Backend b = Backends.create(sel, new BackendOptions(threads));
             LanguageModel m = LanguageModel.load(model, b);
             Session s = m.newSession(prompt + decode + 64, LanguageModel.DEFAULT_BATCH)) {
            double loadS = (System.nanoTime() - t0) / 1e9;
            int vocab = m.config().vocabSize();
            int[] tokens = new int[prompt];
            tokens[0] = 2; // BOS
            for (int i = 1; i < prompt; i++) {
                tokens[i] = (int) ((i * 7919L + 1000) % vocab);
            }
            // warm-up: JIT for Java backends, first launches for OpenCL
            s.ingest(tokens, 0, Math.min(64, prompt), null);
            for (int i = 0; i < 4; i++) {
                s.next(tokens[i + 1]);
            }
            s.reset();

            long p0 = System.nanoTime();
            float[] logits = s.ingest(tokens, 0, prompt, null);
            double promptS = (System.nanoTime() - p0) / 1e9;
            int next = argmax(logits);
            long d0 = System.nanoTime();
            for (int i = 0; i < decode; i++) {
                next = argmax(s.next(next));
            }
            double decodeS = (System.nanoTime() - d0) / 1e9;
            System.out.printf(Locale.ROOT, "%s on %s (%s): load %.1f s, prompt %d tokens %.2f tok/s, decode %d tokens %.2f tok/s%n",
                    backendId, model.getFileName(), sel.chosen().probe().summary(), loadS, prompt, prompt / promptS, decode, decode / decodeS);
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
}
