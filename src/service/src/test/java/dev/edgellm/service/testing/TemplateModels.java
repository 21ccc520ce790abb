package dev.edgellm.service.testing;

import dev.edgellm.core.testing.SharedFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Copies of the shared Gemma 3 tiny model with another {@code tokenizer.chat_template}, written to a
 * temporary file: the new template is padded with a Jinja comment to the byte length of the file's
 * own, so it replaces it in place and every offset stays valid.
 */
public final class TemplateModels {
    private TemplateModels() {}

    /** The shared file's template (Gemma's turns, no system handling). */
    static final String ORIGINAL = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}"
            + "{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
            + "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}";

    /** Gemma's turns, refusing a system role as google/gemma-7b-it's template does. */
    public static final String RAISING = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
            + "{% for m in messages %}{{ '<start_of_turn>' + m['role'] + '\n' + m['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}";

    /** The file's template with its last tag left open: Jinja cannot parse it. */
    public static final String UNPARSABLE = ORIGINAL.substring(0, ORIGINAL.length() - "{% endif %}".length()) + "{% endif }}";

    /** A temporary copy of gemma3-tiny-q4_0.gguf whose chat template is {@code template}. */
    public static Path gemmaWith(String template) {
        try {
            byte[] file = Files.readAllBytes(SharedFiles.model("gemma3-tiny-q4_0.gguf"));
            byte[] old = ORIGINAL.getBytes(StandardCharsets.UTF_8);
            byte[] neu = template.getBytes(StandardCharsets.UTF_8);
            if (neu.length > old.length) {
                throw new IllegalArgumentException("template longer than the file's (" + neu.length + " > " + old.length + " bytes)");
            }
            StringBuilder padded = new StringBuilder(template);
            if (neu.length < old.length) {
                if (old.length - neu.length < 4) {
                    throw new IllegalArgumentException("no room for a Jinja comment");
                }
                padded.append("{#").append("-".repeat(old.length - neu.length - 4)).append("#}");
            }
            byte[] replacement = padded.toString().getBytes(StandardCharsets.UTF_8);
            int at = indexOf(file, old);
            System.arraycopy(replacement, 0, file, at, replacement.length);
            Path p = Files.createTempFile("edgellm-template-", ".gguf");
            p.toFile().deleteOnExit();
            Files.write(p, file);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
        throw new IllegalStateException("the shared Gemma file's chat template was not found (has the file changed?)");
    }
}
