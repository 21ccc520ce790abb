package dev.edgellm.core.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    @Test
    void gemmaTurnsWithGenerationPrompt() {
        String s = ChatTemplate.GEMMA.render(List.of(ChatMessage.user("  Summarize this.  ")), true);
        assertEquals("<start_of_turn>user\nSummarize this.<end_of_turn>\n<start_of_turn>model\n", s);
    }

    @Test
    void gemmaSystemGoesIntoFirstUserTurnAndAssistantIsModel() {
        String s = ChatTemplate.GEMMA.render(List.of(
                new ChatMessage("system", "Be brief."),
                ChatMessage.user("Hi"),
                new ChatMessage("assistant", "Hello!"),
                ChatMessage.user("Temperature?")), true);
        assertEquals("<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
                + "<start_of_turn>model\nHello!<end_of_turn>\n"
                + "<start_of_turn>user\nTemperature?<end_of_turn>\n"
                + "<start_of_turn>model\n", s);
    }

    @Test
    void rejectsLateSystemMessageAndBadRoles() {
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.GEMMA.render(
                List.of(ChatMessage.user("a"), new ChatMessage("system", "b")), true));
        assertThrows(IllegalArgumentException.class, () -> new ChatMessage("tool", "x"));
    }

    @Test
    void chatml() {
        assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                ChatTemplate.CHATML.render(List.of(ChatMessage.user("hi")), true));
    }
}
