package dev.edgellm.cli;

import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@code edgellm tokenize -m MODEL --text TEXT [--special]}: ids, space-separated, BOS per the model. */
final class TokenizeCommand {
    static final String USAGE = "tokenize -m MODEL --text TEXT [--special]";

    static int run(String[] argv, PrintStream out) throws Exception {
        Args a = EngineOptions.parse("tokenize", argv, List.of("--text"), List.of("--special"), Map.of());
        EngineOptions eo = new EngineOptions(a);
        String text = a.required("--text");
        // Tokenizing needs only the vocabulary: no weights, no backend.
        try (GgufFile f = GgufFile.open(eo.model)) {
            Tokenizer tok = Tokenizer.fromGguf(f.metadata());
            int[] ids = tok.encode(text, true, a.flag("--special"));
            out.println(join(ids));
        }
        return 0;
    }

    static String join(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(ids[i]);
        }
        return sb.toString();
    }
}
