package dev.edgellm.core.engine;

import dev.edgellm.core.gguf.GgufMetadata;
import java.util.List;

/** The chat templates EdgeLLM knows without a Jinja engine. */
enum BuiltInChatTemplate implements ChatTemplate {
    GEMMA("built-in Gemma") {
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
    CHATML("built-in ChatML") {
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

    private final String description;

    BuiltInChatTemplate(String description) {
        this.description = description;
    }

    @Override
    public String description() {
        return description;
    }

    static ChatTemplate forModel(GgufMetadata md) {
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
