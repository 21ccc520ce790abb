package dev.edgellm.core.quant;

import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufFileWriter;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.tokenizer.Tokenizer;
import dev.edgellm.core.util.WorkerPool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Quantization with activation statistics, block by block (GPTQ's sequential scheme). The model
 * runs in float on the scalar backend ({@link CalibrationStream}); the residual stream of the
 * whole calibration text at the current block's input is kept. For each block, in forward order,
 * each group of weights that share an input ({@code q,k,v}; {@code output}; {@code gate,up};
 * {@code down}):
 * <ol>
 *   <li>the block is run over the text and the group's input statistics recorded, so they reflect
 *       the weights already quantized before it (for the asymmetric methods the float model is run
 *       beside it on the same tokens);</li>
 *   <li>with AWQ, per-channel scales are searched and folded into the norm in front of the group;</li>
 *   <li>each weight is quantized with those statistics, written, and swapped into the running model.</li>
 * </ol>
 * Then the block is run once more to move the residual stream to the next block's input. The
 * output projection is quantized last, from the final norm's output. The token embedding is
 * quantized first (clipping search on the plain squared error: it is a lookup table, its "input"
 * is one-hot) so the blocks see it quantized; a tied embedding is the output projection and is
 * quantized as that.
 *
 * <p>Memory: the input file stays mapped; the heap holds the residual stream(s) ({@code tokens x
 * width} floats each), the float copies of the group being quantized, and the statistics
 * ({@code n^2} floats per matrix, one to three matrices). Quantized tensors are read back from
 * the output file, not kept.
 */
final class CalibratedQuantizer {
    /** Tokens per forward batch while calibrating. */
    private static final int BATCH = 64;

    /** Weights sharing one input, with the norm in front of them (null: none to fold into). */
    private record Group(String norm, List<String> tensors) {}

    private final GgufFile file;
    private final TensorPlan plan;
    private final Quantizer.Options o;
    private final GgufFileWriter writer;
    private final TensorQuantizer tq;
    private final WorkerPool pool;
    private final QuantReport report;
    private final Quantizer.Progress progress;
    private final Set<String> done;
    private CalibrationStream q;
    private CalibrationStream f;

    CalibratedQuantizer(GgufFile file, TensorPlan plan, Quantizer.Options o, GgufFileWriter writer, TensorQuantizer tq, WorkerPool pool,
                        QuantReport report, Quantizer.Progress progress, Set<String> done) {
        this.file = file;
        this.plan = plan;
        this.o = o;
        this.writer = writer;
        this.tq = tq;
        this.pool = pool;
        this.report = report;
        this.progress = progress;
        this.done = done;
    }

    void run() throws IOException {
        String text = Files.readString(o.calibration(), StandardCharsets.UTF_8);
        ModelConfig c = ModelConfig.fromGguf(file);
        Tokenizer tok = Tokenizer.fromGguf(file.metadata());
        int context = Math.min(o.calibrationContext(), c.contextLength());
        CalibrationText cal = CalibrationText.of(tok, text, context, o.calibrationTokens());
        String what = String.format(Locale.ROOT, "%s: %,d of %,d tokens in %d sequences of up to %d", o.calibration().getFileName(),
                cal.tokens(), cal.textTokens(), cal.sequences().size(), context);
        report.calibration(what);
        progress.note("calibration " + what + (o.method().asymmetric() ? ", the float model beside" : ""));
        try (CalibrationStream qs = new CalibrationStream(file.path(), o.threads(), cal.sequences(), cal.longest(), BATCH);
             CalibrationStream fs = o.method().asymmetric()
                     ? new CalibrationStream(file.path(), o.threads(), cal.sequences(), cal.longest(), BATCH) : null) {
            q = qs;
            f = fs;
            quantizeBlocks(c);
        }
    }

    private void quantizeBlocks(ModelConfig c) throws IOException {
        if (!plan.tiedOutput()) {
            quantizeEmbedding("token_embd.weight");
        }
        q.embed();
        if (f != null) {
            f.embed();
        }
        for (int l = 0; l < c.layers(); l++) {
            for (Group g : groups(l)) {
                quantizeGroup(l, g);
            }
            q.advance(l);
            if (f != null) {
                f.advance(l);
            }
            progress.note(String.format(Locale.ROOT, "block %d/%d done", l + 1, c.layers()));
        }
        TensorPlan.Item out = plan.item(plan.tiedOutput() ? "token_embd.weight" : "output.weight");
        if (out != null && out.action() == TensorPlan.Action.QUANTIZE) {
            InputStats stats = record(c.dim(), s -> q.finalNorm(s), s -> f.finalNorm(s));
            QuantMethod m = o.method() == QuantMethod.AWQ_GPTAQ ? QuantMethod.GPTAQ : o.method();
            quantize(out, m, stats, null, null);
        }
    }

    /** Llama and Gemma 3 blocks: the four groups of weights that share an input, in forward order. */
    private static List<Group> groups(int l) {
        String b = "blk." + l + ".";
        return List.of(
                new Group(b + "attn_norm.weight", List.of(b + "attn_q.weight", b + "attn_k.weight", b + "attn_v.weight")),
                new Group(null, List.of(b + "attn_output.weight")),
                new Group(b + "ffn_norm.weight", List.of(b + "ffn_gate.weight", b + "ffn_up.weight")),
                new Group(null, List.of(b + "ffn_down.weight")));
    }

    private void quantizeGroup(int l, Group g) throws IOException {
        List<TensorPlan.Item> items = new ArrayList<>();
        boolean any = false;
        for (String name : g.tensors()) {
            TensorPlan.Item i = plan.item(name);
            if (i == null) {
                throw new IllegalStateException(file.path() + ": the model has no tensor '" + name + "'");
            }
            items.add(i);
            any |= i.action() == TensorPlan.Action.QUANTIZE;
        }
        if (!any) {
            // nothing to choose: float conversions (the F16 fallback) go in as they are
            for (TensorPlan.Item i : items) {
                writeFloat(i, null);
            }
            return;
        }
        String watched = g.tensors().get(0);
        int cols = items.get(0).tensor().cols();
        InputStats stats = recordBlock(l, watched, cols);
        float[] scales = null;
        String note = null;
        if (o.method().foldsScales() && g.norm() != null) {
            List<AwqSearch.Member> members = new ArrayList<>();
            for (TensorPlan.Item i : items) {
                if (i.action() == TensorPlan.Action.QUANTIZE) {
                    members.add(new AwqSearch.Member(i.name(), Quantizer.toFloat(i.tensor()), i.tensor().rows(), BlockGrid.of(i.type())));
                }
            }
            AwqSearch.Choice choice = AwqSearch.search(members, stats, o.method(), tq);
            scales = choice.scales();
            note = String.format(Locale.ROOT, "awq alpha %.2f", choice.alpha());
            if (scales != null) {
                foldIntoNorm(g.norm(), scales);
            }
        }
        for (TensorPlan.Item i : items) {
            if (i.action() == TensorPlan.Action.QUANTIZE) {
                quantize(i, o.method(), stats, scales, note);
            } else {
                writeFloat(i, scales);
            }
        }
    }

    /** The input statistics of weight {@code watched} of block {@code l} over the calibration text. */
    private InputStats recordBlock(int l, String watched, int cols) {
        Hessian h = new Hessian(cols);
        if (f == null) {
            for (int s = 0; s < q.sequences(); s++) {
                q.watch(l, s, watched, (in, t0, n) -> h.add(in, n, pool));
            }
            return InputStats.symmetric(h);
        }
        CrossMoment cross = new CrossMoment(cols);
        Hessian hf = new Hessian(cols);
        for (int s = 0; s < q.sequences(); s++) {
            float[] fin = f.inputs(l, s, watched, cols);
            hf.add(fin, f.length(s), pool);
            q.watch(l, s, watched, (in, t0, n) -> {
                h.add(in, n, pool);
                cross.add(fin, t0, in, n, pool);
            });
        }
        return new InputStats(h, cross, hf);
    }

    /** Statistics of per-sequence inputs given directly (the output projection's). */
    private InputStats record(int cols, java.util.function.IntFunction<float[]> quantized, java.util.function.IntFunction<float[]> reference) {
        Hessian h = new Hessian(cols);
        CrossMoment cross = f == null ? null : new CrossMoment(cols);
        Hessian hf = f == null ? null : new Hessian(cols);
        for (int s = 0; s < q.sequences(); s++) {
            int n = q.length(s);
            float[] in = quantized.apply(s);
            h.add(in, n, pool);
            if (f != null) {
                float[] fin = reference.apply(s);
                hf.add(fin, n, pool);
                cross.add(fin, 0, in, n, pool);
            }
        }
        return new InputStats(h, cross, hf);
    }

    /** Divides the norm weight by the scales its consumers' columns were multiplied with; writes and swaps it. */
    private void foldIntoNorm(String norm, float[] scales) throws IOException {
        TensorPlan.Item i = plan.item(norm);
        if (i == null || i.type() != GgmlType.F32) {
            throw new IllegalStateException("norm '" + norm + "' must be written as F32 to fold scales into it");
        }
        float[] g = Quantizer.toFloat(i.tensor());
        writer.writeTensor(norm, Quantizer.convert(GgmlType.F32, ScaleFold.norm(g, scales), 1, g.length));
        swap(i.tensor(), GgmlType.F32);
        report.add(new QuantReport.Row(norm, i.tensor().type(), GgmlType.F32, "awq-fold", Double.NaN, Double.NaN, "divided by the channel scales"));
        progress.tensor(norm, "AWQ scales folded in");
    }

    /** Quantizes one weight with its inputs' statistics (scaled columns when {@code scales}), writes and swaps it in. */
    private void quantize(TensorPlan.Item i, QuantMethod m, InputStats stats, float[] scales, String note) throws IOException {
        GgufTensor t = i.tensor();
        float[] w = Quantizer.toFloat(t);
        TensorQuantizer.Result r = tq.quantize(BlockGrid.of(i.type()), m, w, t.rows(), t.cols(), stats, scales);
        writer.writeTensor(i.name(), r.data());
        swap(t, i.type());
        report.add(new QuantReport.Row(i.name(), t.type(), i.type(), m.id(), r.rtnError(), r.error(), note));
        progress.tensor(i.name(), String.format(Locale.ROOT, "%s -> %s %s, output error %.3e (rtn %.3e)%s", t.type(), i.type(), m,
                r.error(), r.rtnError(), note == null ? "" : ", " + note));
    }

    /** The token embedding: no input statistics, so the clipping search on the plain squared error. */
    private void quantizeEmbedding(String name) throws IOException {
        TensorPlan.Item i = plan.item(name);
        if (i == null) {
            return;
        }
        Quantizer.writeAlone(i, QuantMethod.CLIP, writer, tq, report, progress);
        if (i.action() != TensorPlan.Action.COPY) {
            swap(i.tensor(), i.type());
        }
    }

    /** A float tensor of a group (the F16 fallback), with the group's scales applied when there are any. */
    private void writeFloat(TensorPlan.Item i, float[] scales) throws IOException {
        GgufTensor t = i.tensor();
        if (scales == null) {
            Quantizer.writeAlone(i, QuantMethod.RTN, writer, tq, report, progress);
        } else {
            float[] w = ScaleFold.columns(Quantizer.toFloat(t), t.rows(), t.cols(), scales);
            writer.writeTensor(i.name(), Quantizer.convert(i.type(), w, t.rows(), t.cols()));
            report.add(new QuantReport.Row(i.name(), t.type(), i.type(), "awq-scaled", Double.NaN, Double.NaN, null));
            progress.tensor(i.name(), t.type() + " -> " + i.type() + " with the AWQ scales");
        }
        if (scales != null || i.action() != TensorPlan.Action.COPY) {
            swap(t, i.type());
        }
    }

    /** Marks a tensor written and puts what was written into the quantized model. */
    private void swap(GgufTensor t, GgmlType type) throws IOException {
        done.add(t.name());
        q.backend.replace(Quantizer.tensor(t, type, writer.written(t.name())));
    }
}
