package dev.edgellm.cli;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.eval.KlDivergence;
import dev.edgellm.core.eval.LogitsFile;
import dev.edgellm.core.eval.Perplexity;
import dev.edgellm.core.model.LanguageModel;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code edgellm perplexity -m MODEL -f TEXT [-c N] [--kl-base FILE [--kl-divergence]]}: perplexity by
 * llama-perplexity's method; with {@code --kl-base} alone it also saves the model's log-probabilities
 * there (llama-perplexity's base file format), with {@code --kl-divergence} it compares the model
 * with such a file. Progress per chunk on stderr, results on stdout.
 */
final class PerplexityCommand {
    static final String USAGE = """
            perplexity -m MODEL -f TEXT [-c 512] [--kl-base FILE.kld]    PPL over chunks of -c tokens; --kl-base saves
                         the model's log-probabilities there (llama-perplexity's format)
            perplexity -m MODEL --kl-base FILE.kld --kl-divergence        KL divergence etc. against that saved base""";
    /** llama-perplexity's default chunk size. */
    static final int DEFAULT_CHUNK = 512;

    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        Args a = EngineOptions.parse("perplexity", argv, List.of("--file", "--kl-base"), List.of("--kl-divergence"), Map.of("-f", "--file"));
        EngineOptions eo = new EngineOptions(a);
        Path text = a.get("--file") == null ? null : Path.of(a.get("--file"));
        Path base = a.get("--kl-base") == null ? null : Path.of(a.get("--kl-base"));
        boolean compare = a.flag("--kl-divergence");
        if (compare && base == null) {
            throw new UsageException("perplexity: --kl-divergence needs --kl-base FILE (saved by a run without --kl-divergence)");
        }
        if (!compare && text == null) {
            throw new UsageException("perplexity: missing required option --file (-f TEXT)");
        }
        if (text != null && !Files.isRegularFile(text)) {
            throw new NoSuchFileException(text.toString(), null, "text file not found");
        }
        if (compare && !Files.isRegularFile(base)) {
            throw new NoSuchFileException(base.toString(), null, "KL base file not found");
        }
        int ctx = eo.ctx > 0 ? eo.ctx : DEFAULT_CHUNK;
        try (Backend backend = eo.openBackend(); LanguageModel model = eo.load(backend);
             Progress bar = Progress.of(err, "perplexity", "chunks")) {
            PrintStream log = bar.lines();
            if (ctx > model.config().contextLength()) {
                throw new UsageException("perplexity: -c " + ctx + " is longer than the model's context " + model.config().contextLength());
            }
            int batch = Math.min(eo.batch, ctx);
            if (compare) {
                try (LogitsFile.Reader r = new LogitsFile.Reader(base)) {
                    if (text != null) {
                        int[] tokens = Perplexity.tokenize(model.tokenizer(), Files.readString(text, StandardCharsets.UTF_8));
                        int[] used = Arrays.copyOf(tokens, Math.min(tokens.length, r.tokens().length));
                        if (!Arrays.equals(used, r.tokens())) {
                            throw new IllegalArgumentException(text + " is not the text " + base + " was computed on");
                        }
                    }
                    log.printf(Locale.ROOT, "perplexity: comparing with %s: %d chunks of %d tokens, %d scored per chunk%n",
                            base, r.chunks(), r.context(), Perplexity.scoredPerChunk(r.context()));
                    KlDivergence kl = Perplexity.compare(model, r, Math.min(eo.batch, r.context()), (done, total, k) -> {
                        log.printf(Locale.ROOT, "[%d/%d] PPL %.4f, ln(PPL(Q)/PPL(base)) %.5f, KLD %.5f, same top %.2f%%%n",
                                done, total, k.ppl(), k.logPplRatio()[0], k.meanKld(), 100 * k.sameTop());
                        bar.update(done, total);
                    });
                    out.print(kl.report());
                }
                return 0;
            }
            int[] tokens = Perplexity.tokenize(model.tokenizer(), Files.readString(text, StandardCharsets.UTF_8));
            int chunks = Perplexity.chunks(tokens.length, ctx);
            log.printf(Locale.ROOT, "perplexity: %d tokens, %d chunks of %d, %d scored per chunk%n", tokens.length, chunks, ctx, Perplexity.scoredPerChunk(ctx));
            bar.update(0, chunks);
            Perplexity.Progress progress = (done, total, st) -> {
                log.printf(Locale.ROOT, "[%d/%d] PPL %.4f%n", done, total, st.ppl());
                bar.update(done, total);
            };
            Perplexity.Stats st;
            if (base != null) {
                try (LogitsFile.Writer w = new LogitsFile.Writer(base, ctx, model.config().vocabSize(), chunks, tokens)) {
                    st = Perplexity.run(model, tokens, ctx, batch, w, progress);
                    w.commit();
                }
                log.println("perplexity: saved the base log-probabilities to " + base);
            } else {
                st = Perplexity.run(model, tokens, ctx, batch, null, progress);
            }
            out.printf(Locale.ROOT, "Final estimate: PPL = %.4f +/- %.5f (%d tokens scored in %d chunks of %d)%n", st.ppl(), st.pplError(), st.count(), chunks, ctx);
        }
        return 0;
    }
}
