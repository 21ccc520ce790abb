package dev.edgellm.cli;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.util.Json;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code edgellm logits -m MODEL --prompts FILE --top-k K [--special]}: per prompt line one JSON
 * line {@code {"tokens":[...],"topk":[[[id,logit],...] per position]}}, teacher-forced.
 */
final class LogitsCommand {
    static final String USAGE = "logits -m MODEL --prompts FILE --top-k K [--special]";

    static int run(String[] argv, PrintStream out) throws Exception {
        Args a = EngineOptions.parse("logits", argv, List.of("--prompts", "--top-k"), List.of("--special"), Map.of());
        EngineOptions eo = new EngineOptions(a);
        Path prompts = Path.of(a.required("--prompts"));
        int k = a.getInt("--top-k", 10);
        if (k < 1) {
            throw new UsageException("logits: --top-k must be at least 1");
        }
        if (!Files.isRegularFile(prompts)) {
            throw new NoSuchFileException(prompts.toString(), null, "prompts file not found");
        }
        List<String> lines = Files.readAllLines(prompts, StandardCharsets.UTF_8);
        try (Backend backend = eo.openBackend(); LanguageModel model = eo.load(backend)) {
            int vocab = model.config().vocabSize();
            int kk = Math.min(k, vocab);
            for (String line : lines) {
                if (line.isEmpty()) {
                    continue;
                }
                String text = unescape(line);
                int[] tokens = model.tokenizer().encode(text, true, a.flag("--special"));
                StringBuilder sb = new StringBuilder("{\"tokens\":[");
                for (int i = 0; i < tokens.length; i++) {
                    sb.append(i > 0 ? "," : "").append(tokens[i]);
                }
                sb.append("],\"topk\":[");
                int[] ids = new int[kk];
                try (Session s = model.newSession(Math.max(eo.context(model), tokens.length), eo.batch)) {
                    s.ingest(tokens, 0, tokens.length, (pos, logits) -> {
                        topK(logits, ids);
                        sb.append(pos > 0 ? "," : "").append('[');
                        for (int j = 0; j < ids.length; j++) {
                            sb.append(j > 0 ? "," : "").append('[').append(ids[j]).append(',').append(Json.number(logits[ids[j]])).append(']');
                        }
                        sb.append(']');
                    });
                }
                out.println(sb.append("]}"));
                out.flush();
            }
        }
        return 0;
    }

    /** The ids of the largest logits, best first (ties: lower id first). */
    static void topK(float[] logits, int[] ids) {
        int k = ids.length;
        int size = 0;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (size == k && v <= logits[ids[k - 1]]) {
                continue;
            }
            int j = size == k ? k - 1 : size++;
            while (j > 0 && logits[ids[j - 1]] < v) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = i;
        }
    }

    /** Undoes the escaping of the shared prompt files: {@code \n}, {@code \t}, {@code \r}, {@code \\}. */
    static String unescape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                switch (n) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case '\\' -> sb.append('\\');
                    default -> sb.append('\\').append(n);
                }
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
