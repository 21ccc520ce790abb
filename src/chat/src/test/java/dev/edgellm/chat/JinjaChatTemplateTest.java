package dev.edgellm.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.engine.ChatTemplateException;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.testing.SharedFiles;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The models' own templates through Jinjava: the shared Gemma files' template, and the published
 * Llama 3 and Qwen 2.5 templates carried here as text, rendered as Hugging Face's
 * apply_chat_template renders them; raise_exception; the fallback to the built-in template.
 */
class JinjaChatTemplateTest {

    /** Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template. */
    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    /** Qwen2.5-7B-Instruct's tokenizer_config.json chat_template. */
    static final String QWEN25 = """
            {%- if tools %}
                {{- '<|im_start|>system\\n' }}
                {%- if messages[0]['role'] == 'system' %}
                    {{- messages[0]['content'] }}
                {%- else %}
                    {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
                {%- endif %}
                {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
                {%- for tool in tools %}
                    {{- "\\n" }}
                    {{- tool | tojson }}
                {%- endfor %}
                {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
            {%- else %}
                {%- if messages[0]['role'] == 'system' %}
                    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
                {%- else %}
                    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
                {%- endif %}
            {%- endif %}
            {%- for message in messages %}
                {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
                    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
                {%- elif message.role == "assistant" %}
                    {{- '<|im_start|>' + message.role }}
                    {%- if message.content %}
                        {{- '\\n' + message.content }}
                    {%- endif %}
                    {%- for tool_call in message.tool_calls %}
                        {%- if tool_call.function is defined %}
                            {%- set tool_call = tool_call.function %}
                        {%- endif %}
                        {{- '\\n<tool_call>\\n{"name": "' }}
                        {{- tool_call.name }}
                        {{- '", "arguments": ' }}
                        {{- tool_call.arguments | tojson }}
                        {{- '}\\n</tool_call>' }}
                    {%- endfor %}
                    {{- '<|im_end|>\\n' }}
                {%- elif message.role == "tool" %}
                    {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
                        {{- '<|im_start|>user' }}
                    {%- endif %}
                    {{- '\\n<tool_response>\\n' }}
                    {{- message.content }}
                    {{- '\\n</tool_response>' }}
                    {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
                        {{- '<|im_end|>\\n' }}
                    {%- endif %}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;

    /** google/gemma-7b-it's template: refuses a system role and roles that do not alternate. */
    static final String GEMMA1 = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}";

    private static final List<ChatMessage> CONVERSATION = List.of(
            new ChatMessage("system", "You are terse."),
            ChatMessage.user(" Hi "),
            new ChatMessage("assistant", "Hello."),
            ChatMessage.user("Temperature?"));

    @Test
    void theSharedGemmaFilesTemplateIsAppliedWithOneBos() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-kq-q4_k_m.gguf"))) {
            Tokenizer tok = Tokenizer.fromGguf(f.metadata());
            ModelChatTemplates.Resolution r = ModelChatTemplates.resolve(f.metadata(), tok);
            assertNull(r.warning());
            JinjaChatTemplate t = assertInstanceOf(JinjaChatTemplate.class, r.template());
            assertTrue(t.source().startsWith("{{ bos_token }}"), t.source());
            // the file's template: system is a turn of its own, content trimmed; the tokenizer adds BOS, so the template's is cut
            assertEquals("<start_of_turn>system\nYou are terse.<end_of_turn>\n<start_of_turn>user\nHi<end_of_turn>\n"
                    + "<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>user\nTemperature?<end_of_turn>\n<start_of_turn>model\n",
                    t.render(CONVERSATION, true));
            int[] ids = tok.encode(t.render(List.of(ChatMessage.user("Hi")), true), true, true);
            assertEquals(tok.bos(), ids[0]);
            assertEquals(tok.find("<start_of_turn>").orElseThrow(), ids[1], "exactly one BOS");
            assertEquals("<start_of_turn>user\nHi<end_of_turn>\n", t.render(List.of(ChatMessage.user("Hi")), false));
        }
    }

    @Test
    void llama3() {
        JinjaChatTemplate t = new JinjaChatTemplate(LLAMA3, "<|begin_of_text|>", "<|end_of_text|>", false, false);
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nTemperature?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(CONVERSATION, true));
        // a tokenizer that adds BOS itself: the template's BOS is cut, as llama.cpp does
        JinjaChatTemplate adding = new JinjaChatTemplate(LLAMA3, "<|begin_of_text|>", "<|end_of_text|>", true, false);
        assertEquals("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", adding.render(List.of(ChatMessage.user("Hi")), false));
    }

    @Test
    void qwen25() {
        JinjaChatTemplate t = new JinjaChatTemplate(QWEN25, "", "<|im_end|>", false, false);
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", t.render(List.of(ChatMessage.user("Hi")), true));
        assertEquals("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n Hi <|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
                + "<|im_start|>user\nTemperature?<|im_end|>\n<|im_start|>assistant\n", t.render(CONVERSATION, true));
        assertNull(t.syntaxProblem());
    }

    @Test
    void raiseExceptionCarriesTheTemplatesMessage() {
        JinjaChatTemplate t = new JinjaChatTemplate(GEMMA1, "<bos>", "<eos>", true, false);
        assertEquals("<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", t.render(List.of(ChatMessage.user("Hi")), true));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(CONVERSATION, true));
        assertEquals("System role not supported", e.templateMessage());
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
        e = assertThrows(ChatTemplateException.class, () -> t.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true));
        assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", e.templateMessage());
        assertInstanceOf(IllegalArgumentException.class, e, "the service answers IllegalArgumentException from templates with a 400");
        assertNull(t.syntaxProblem(), "a template that raises on some conversation still parses");
    }

    @Test
    void anUnparsableTemplateFallsBackToTheBuiltInOneWithAWarning(@TempDir Path dir) throws IOException {
        byte[] file = Files.readAllBytes(SharedFiles.model("gemma3-tiny-q4_0.gguf"));
        byte[] end = "{{ '<start_of_turn>model\n' }}{% endif %}".getBytes(StandardCharsets.UTF_8);
        byte[] broken = "{{ '<start_of_turn>model\n' }}{% endif }}".getBytes(StandardCharsets.UTF_8);
        int at = indexOf(file, end);
        System.arraycopy(broken, 0, file, at, broken.length);
        Path p = dir.resolve("broken-template.gguf");
        Files.write(p, file);
        try (GgufFile f = GgufFile.open(p)) {
            ModelChatTemplates.Resolution r = ModelChatTemplates.resolve(f.metadata(), Tokenizer.fromGguf(f.metadata()));
            assertSame(ChatTemplate.GEMMA, r.template());
            assertTrue(r.warning().contains("tokenizer.chat_template cannot be parsed") && r.warning().contains("built-in Gemma"), r.warning());
            assertNull(r.problem());
        }
    }

    @Test
    void withoutATemplateGemmaGetsTheBuiltInOneAndOthersNone() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.model("stories260K.gguf"))) {
            ModelChatTemplates.Resolution r = ModelChatTemplates.resolve(f.metadata(), Tokenizer.fromGguf(f.metadata()));
            assertNull(r.template());
            assertNull(r.warning());
            assertTrue(r.problem().contains("tokenizer.chat_template is absent"), r.problem());
        }
    }

    @Test
    void theQwenTemplateRendersToolsAsJson() {
        // tojson through Jinjava's Jackson (compact, where Python's json.dumps puts a space after ',' and ':';
        // EdgeLLM's API takes no tools, the one place chat templates use tojson)
        JinjaChatTemplate t = new JinjaChatTemplate("{% set call = {'name': 'get_weather', 'arguments': {'city': 'Oslo'} } %}{{ call | tojson }}",
                "", "", false, false);
        assertEquals("{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}", t.render(List.of(), false));
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }

    @Test
    void tokensOfAConversationAreStable() throws IOException {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-tiny-q4_0.gguf"))) {
            Tokenizer tok = Tokenizer.fromGguf(f.metadata());
            ChatTemplate t = ModelChatTemplates.resolve(f.metadata(), tok).template();
            int[] viaFile = tok.encode(t.render(List.of(ChatMessage.user("Hi")), true), true, true);
            int[] viaBuiltIn = tok.encode(ChatTemplate.GEMMA.render(List.of(ChatMessage.user("Hi")), true), true, true);
            assertArrayEquals(viaBuiltIn, viaFile, "for a single user turn the file's template and the built-in one agree");
        }
    }
}
