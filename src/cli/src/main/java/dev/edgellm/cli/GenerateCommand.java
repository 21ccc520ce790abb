package dev.edgellm.cli;

import dev.edgellm.chat.ModelChatTemplates;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.SamplingParams;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code edgellm generate -m MODEL --prompt TEXT ...}: streams the continuation. */
final class GenerateCommand {
    static final String USAGE = """
            generate -m MODEL --prompt TEXT [-n N] [--temperature T] [--top-k K] [--top-p P] [--min-p P]
                     [--repeat-penalty R] [--seed S] [--chat] [--system TEXT] [--ids]""";

    static int run(String[] argv, PrintStream out) throws Exception {
        Args a = EngineOptions.parse("generate", argv, List.of("--prompt", "--n-predict", "--temperature", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n", "--seed", "--system"), List.of("--chat", "--ids", "--ignore-eos"), Map.of("-n", "--n-predict", "-p", "--prompt", "--temp", "--temperature"));
        EngineOptions eo = new EngineOptions(a);
        String prompt = a.required("--prompt");
        int n = a.getInt("--n-predict", 128);
        SamplingParams sp;
        try {
            sp = SamplingParams.defaults(a.getLong("--seed", System.nanoTime()))
                    .withTemperature(a.getFloat("--temperature", 0.8f))
                    .withTopK(a.getInt("--top-k", 40))
                    .withTopP(a.getFloat("--top-p", 0.95f))
                    .withMinP(a.getFloat("--min-p", 0.05f))
                    .withRepeatPenalty(a.getFloat("--repeat-penalty", 1f), a.getInt("--repeat-last-n", 64));
        } catch (IllegalArgumentException e) {
            throw new UsageException("generate: " + e.getMessage());
        }
        if (n < 0) {
            throw new UsageException("generate: -n must be >= 0");
        }
        boolean ids = a.flag("--ids");

        try (Backend backend = eo.openBackend(); LanguageModel model = eo.load(backend)) {
            String text = prompt;
            if (a.flag("--chat")) {
                List<ChatMessage> messages = new ArrayList<>();
                if (a.get("--system") != null) {
                    messages.add(new ChatMessage("system", a.get("--system")));
                }
                messages.add(ChatMessage.user(prompt));
                ModelChatTemplates.Resolution chat = ModelChatTemplates.resolve(model.file().metadata(), model.tokenizer());
                if (chat.warning() != null) {
                    System.err.println("warning: " + chat.warning());
                }
                if (chat.template() == null) {
                    throw new IllegalArgumentException(chat.problem());
                }
                text = chat.template().render(messages, true);
            }
            // Special tokens in the prompt are parsed, as llama.cpp's CLI does.
            int[] tokens = model.tokenizer().encode(text, true, true);
            try (Session session = model.newSession(Math.max(eo.context(model), 1), eo.batch)) {
                Generator.Result r = Generator.generate(session, tokens, new Generator.Options(n, sp, !a.flag("--ignore-eos")),
                        ids ? null : (id, piece) -> {
                            out.print(piece);
                            out.flush();
                        });
                if (ids) {
                    out.println(TokenizeCommand.join(r.tokens()));
                } else {
                    out.println();
                }
                if (eo.verbose) {
                    System.err.printf("prompt: %d tokens, %.1f tok/s; generated %d tokens, %.1f tok/s; first token after %.0f ms; stop: %s%n",
                            r.promptTokens(), r.promptTokensPerSecond(), r.tokens().length, r.tokensPerSecond(),
                            r.firstTokenNanos() / 1e6, r.reason());
                }
            }
        }
        return 0;
    }
}
