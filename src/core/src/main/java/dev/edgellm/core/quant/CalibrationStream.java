package dev.edgellm.core.quant;

import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.LayerStepper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * One model run block by block over the calibration sequences on the scalar backend (float
 * statistics): the residual stream of every sequence at the current block's input, and a
 * recording backend to watch a weight's inputs or swap a weight. Calibration keeps one for the
 * model being quantized and, for the asymmetric objective, one for the float model.
 */
final class CalibrationStream implements AutoCloseable {

    /** Receives a watched weight's inputs, {@code x[n][cols]}, for tokens {@code t0 .. t0+n} of the sequence. */
    @FunctionalInterface
    interface Inputs {
        void accept(float[] x, int t0, int n);
    }

    final RecordingBackend backend;
    final LanguageModel model;
    private final LayerStepper stepper;
    private final List<int[]> seqs;
    private final float[][] x;
    private final float[] scratch;
    private final int dim;

    CalibrationStream(Path file, int threads, List<int[]> seqs, int longest, int batch) throws IOException {
        this.backend = new RecordingBackend(new ScalarBackend(threads));
        LanguageModel m = null;
        LayerStepper st = null;
        try {
            m = LanguageModel.load(file, backend);
            st = new LayerStepper(m, longest, batch);
        } catch (IOException | RuntimeException e) {
            if (m != null) {
                m.close();
            }
            backend.close();
            throw e;
        }
        this.model = m;
        this.stepper = st;
        this.seqs = seqs;
        this.dim = m.config().dim();
        this.x = new float[seqs.size()][];
        this.scratch = new float[longest * dim];
    }

    /** The residual streams start as the token embeddings. */
    void embed() {
        for (int s = 0; s < seqs.size(); s++) {
            x[s] = new float[seqs.get(s).length * dim];
            stepper.embed(seqs.get(s), seqs.get(s).length, x[s]);
        }
    }

    int sequences() {
        return seqs.size();
    }

    int length(int s) {
        return seqs.get(s).length;
    }

    /** Runs block {@code layer} on a copy of sequence {@code s}'s stream, handing {@code weight}'s inputs to {@code sink}. */
    void watch(int layer, int s, String weight, Inputs sink) {
        int[] t0 = new int[1];
        backend.watch(weight, (in, n) -> {
            sink.accept(in, t0[0], n);
            t0[0] += n;
        });
        try {
            int n = length(s);
            System.arraycopy(x[s], 0, scratch, 0, n * dim);
            stepper.layer(layer, scratch, n);
        } finally {
            backend.stopWatching();
        }
    }

    /** The inputs of {@code weight} (of {@code cols}) over all of sequence {@code s}, {@code [n][cols]}. */
    float[] inputs(int layer, int s, String weight, int cols) {
        float[] all = new float[length(s) * cols];
        watch(layer, s, weight, (in, t0, n) -> System.arraycopy(in, 0, all, t0 * cols, n * cols));
        return all;
    }

    /** Moves every stream past block {@code layer}. */
    void advance(int layer) {
        for (int s = 0; s < seqs.size(); s++) {
            stepper.layer(layer, x[s], length(s));
        }
    }

    /** The output projection's input for sequence {@code s}: the final norm of its stream (a copy). */
    float[] finalNorm(int s) {
        float[] y = new float[length(s) * dim];
        System.arraycopy(x[s], 0, y, 0, y.length);
        stepper.outputNorm(y, length(s));
        return y;
    }

    @Override
    public void close() {
        try {
            stepper.close();
            model.close();
        } finally {
            backend.close();
        }
    }
}
