package dev.edgellm.service.testing;

import dev.edgellm.chat.ModelChatTemplates;
import dev.edgellm.core.backend.scalar.ScalarBackend;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.service.summary.SummaryPrompt;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import dev.edgellm.core.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** What the engine itself generates greedily, without the service: the oracle of the API tests. */
public final class Reference {
    private Reference() {}

    /** Greedy generation for a chat rendered with the model's template. */
    public static Generator.Result chat(Path model, List<ChatMessage> messages, int maxTokens) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(model, b)) {
            String text = template(m).render(messages, true);
            return greedy(m, m.tokenizer().encode(text, true, true), maxTokens);
        }
    }

    /** Greedy generation for the summarization prompt of text and records (what the MQTT intake's summarize does). */
    public static Generator.Result summary(Path model, String instructions, String text, List<Map<String, Object>> records, int promptBudget,
                                           int maxTokens) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(model, b)) {
            SummaryPrompt.Built built = SummaryPrompt.build(m.tokenizer(), template(m), instructions, text, records,
                    promptBudget);
            return greedy(m, built.tokens(), maxTokens);
        }
    }

    /** Greedy generation for a plain prompt. */
    public static Generator.Result text(Path model, String prompt, int maxTokens) throws Exception {
        try (ScalarBackend b = new ScalarBackend(2); LanguageModel m = LanguageModel.load(model, b)) {
            return greedy(m, m.tokenizer().encode(prompt, true, true), maxTokens);
        }
    }

    /** The template the service applies: the model's own, else the built-in one. */
    private static ChatTemplate template(LanguageModel m) {
        ChatTemplate t = ModelChatTemplates.resolve(m.file().metadata(), m.tokenizer()).template();
        if (t == null) {
            throw new IllegalArgumentException(m.file().path() + " has no chat template");
        }
        return t;
    }

    private static Generator.Result greedy(LanguageModel m, int[] prompt, int maxTokens) {
        try (Session s = m.newSession(512, LanguageModel.DEFAULT_BATCH)) {
            return Generator.generate(s, prompt, new Generator.Options(maxTokens, SamplingParams.greedy(), true), null);
        }
    }
}
