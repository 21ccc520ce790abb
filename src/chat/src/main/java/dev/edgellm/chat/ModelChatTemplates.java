package dev.edgellm.chat;

import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.gguf.GgufMetadata;
import dev.edgellm.core.tokenizer.Tokenizer;

/** Chooses the chat template of a loaded model: its own Jinja template, else the built-in one. */
public final class ModelChatTemplates {
    public static final String KEY = "tokenizer.chat_template";

    /**
     * The outcome.
     *
     * @param template the template to use, or null when the model has none EdgeLLM can apply
     * @param warning  why the file's template is not used although it has one (unparsable), or null
     * @param problem  why there is no template (chat requests are refused with it), or null
     */
    public record Resolution(ChatTemplate template, String warning, String problem) {}

    private ModelChatTemplates() {}

    /**
     * The file's {@code tokenizer.chat_template} when it parses; otherwise (absent, or with a syntax
     * error) the built-in template that fits the model ({@link ChatTemplate#forModel}), with a
     * warning when the file's template was unparsable.
     */
    public static Resolution resolve(GgufMetadata md, Tokenizer tokenizer) {
        String source = md.findString(KEY).orElse("");
        String warning = null;
        if (!source.isBlank()) {
            JinjaChatTemplate jinja = new JinjaChatTemplate(source, text(tokenizer, tokenizer.bos()), text(tokenizer, tokenizer.eos()),
                    tokenizer.addBos(), tokenizer.addEos());
            String syntax = jinja.syntaxProblem();
            if (syntax == null) {
                return new Resolution(jinja, null, null);
            }
            warning = md.source() + ": " + KEY + " cannot be parsed (" + syntax + ")";
        }
        try {
            ChatTemplate builtIn = ChatTemplate.forModel(md);
            return new Resolution(builtIn, warning == null ? null : warning + "; using the " + builtIn.description() + " template instead", null);
        } catch (IllegalArgumentException e) {
            return new Resolution(null, warning, warning != null ? warning + " and no built-in template fits the model" : e.getMessage());
        }
    }

    private static String text(Tokenizer t, int id) {
        return id >= 0 && id < t.vocabSize() ? t.tokenText(id) : "";
    }
}
