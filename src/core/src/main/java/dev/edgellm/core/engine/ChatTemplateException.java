package dev.edgellm.core.engine;

/**
 * A chat template refused a conversation: the model's Jinja template called
 * {@code raise_exception(message)} (most often "Conversation roles must alternate
 * user/assistant/user/assistant/..." or "System role not supported"), or failed on it. The
 * message carries the template's own words; the service answers it with a 400.
 */
public final class ChatTemplateException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String templateMessage;

    public ChatTemplateException(String templateMessage, String message) {
        super(message);
        this.templateMessage = templateMessage;
    }

    /** What the template said, verbatim. */
    public String templateMessage() {
        return templateMessage;
    }
}
