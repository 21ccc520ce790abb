package dev.edgellm.core.engine;

import dev.edgellm.core.gguf.GgufMetadata;
import java.util.List;

/**
 * Turns chat messages into the prompt text a model was trained on. The rendered text holds special
 * tokens as text ({@code <start_of_turn>}), so it is tokenized with special parsing on; BOS is left
 * to the tokenizer.
 */
public enum ChatTemplate {
    /**
     * Gemma: {@code <start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n}; the assistant
     * role is "model" and a system message is prepended to the first user turn.
     */
    GEMMA {
        @Override
        public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
            StringBuilder sb = new StringBuilder();
            String system = null;
            boolean first = true;
            for (ChatMessage m : messages) {
                if (m.role().equals("system")) {
                    if (!first || system != null) {
                        throw new IllegalArgumentException("a system message must come first, and only once");
                    }
                    system = m.content().strip();
                    continue;
                }
                String role = m.role().equals("assistant") ? "model" : "user";
                sb.append("<start_of_turn>").append(role).append('\n');
                if (first && system != null) {
                    sb.append(system).append("\n\n");
                }
                sb.append(m.content().strip()).append("<end_of_turn>\n");
                first = false;
            }
            if (addGenerationPrompt) {
                sb.append("<start_of_turn>model\n");
            }
            return sb.toString();
        }
    },
    /** ChatML: {@code <|im_start|>role\n...<|im_end|>\n}. */
    CHATML {
        @Override
        public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
            StringBuilder sb = new StringBuilder();
            for (ChatMessage m : messages) {
                sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
            }
            if (addGenerationPrompt) {
                sb.append("<|im_start|>assistant\n");
            }
            return sb.toString();
        }
    };

    /** Renders messages; with {@code addGenerationPrompt} it ends where the model's answer begins. */
    public abstract String render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /**
     * The template a model declares ({@code tokenizer.chat_template}, recognized by its markers),
     * or Gemma's for Gemma architectures.
     *
     * @throws IllegalArgumentException when the model has no template EdgeLLM knows
     */
    public static ChatTemplate forModel(GgufMetadata md) {
        String tpl = md.findString("tokenizer.chat_template").orElse("");
        String arch = md.findString("general.architecture").orElse("");
        if (tpl.contains("<start_of_turn>") || arch.startsWith("gemma")) {
            return GEMMA;
        }
        if (tpl.contains("<|im_start|>")) {
            return CHATML;
        }
        throw new IllegalArgumentException(md.source() + " has no chat template EdgeLLM supports"
                + (tpl.isEmpty() ? " (tokenizer.chat_template is absent)" : "") + "; use a plain prompt instead");
    }
}
