package dev.edgellm.core.engine;

/** One chat turn: role {@code system}, {@code user} or {@code assistant}, and its text. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || !(role.equals("system") || role.equals("user") || role.equals("assistant"))) {
            throw new IllegalArgumentException("message role must be system, user or assistant, got " + role);
        }
        if (content == null) {
            throw new IllegalArgumentException("message content is missing");
        }
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }
}
