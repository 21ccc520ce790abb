package dev.edgellm.core.engine;

import dev.edgellm.core.gguf.GgufMetadata;
import java.util.List;

/**
 * Turns chat messages into the prompt text a model was trained on. The rendered text holds special
 * tokens as text ({@code <start_of_turn>}), so it is tokenized with special parsing on; BOS is left
 * to the tokenizer.
 *
 * <p>The model's own template ({@code tokenizer.chat_template}, Jinja) is applied by the
 * {@code edgellm-chat} module; the built-in templates here are its fallback for files that carry
 * none, or one that cannot be parsed.
 */
public interface ChatTemplate {
    /**
     * Gemma: {@code <start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n}; the assistant
     * role is "model" and a system message is prepended to the first user turn.
     */
    ChatTemplate GEMMA = BuiltInChatTemplate.GEMMA;
    /** ChatML: {@code <|im_start|>role\n...<|im_end|>\n}. */
    ChatTemplate CHATML = BuiltInChatTemplate.CHATML;

    /**
     * Renders messages; with {@code addGenerationPrompt} it ends where the model's answer begins.
     *
     * @throws ChatTemplateException    when the template refuses the conversation ({@code raise_exception})
     * @throws IllegalArgumentException when a message is misplaced for a built-in template
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /** What this template is, for logs and reports ("built-in Gemma", "tokenizer.chat_template (Jinja)"). */
    String description();

    /**
     * The built-in template for a model: Gemma's for Gemma architectures or a template with Gemma's
     * markers, ChatML for a template with ChatML's markers.
     *
     * @throws IllegalArgumentException when no built-in template fits the model
     */
    static ChatTemplate forModel(GgufMetadata md) {
        return BuiltInChatTemplate.forModel(md);
    }
}
