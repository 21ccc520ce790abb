package dev.edgellm.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.engine.ChatTemplateException;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model's own chat template ({@code tokenizer.chat_template}), rendered by HubSpot's Jinjava the
 * way Hugging Face's {@code apply_chat_template} and llama.cpp render it: {@code trim_blocks} and
 * {@code lstrip_blocks} on; variables {@code messages} (maps with {@code role} and
 * {@code content}), {@code add_generation_prompt}, {@code bos_token} and {@code eos_token} (the
 * texts of the model's BOS/EOS tokens); functions {@code raise_exception(message)} and
 * {@code strftime_now(format)}. Like llama.cpp, a leading BOS text is cut from the result when the
 * tokenizer adds BOS itself (and a trailing EOS when it adds EOS), so the prompt never starts with
 * two BOS tokens.
 *
 * <p>Thread-safe: each render has its own interpreter.
 */
public final class JinjaChatTemplate implements ChatTemplate {
    /**
     * Jinja2's behaviour where Jinjava keeps its own by default: {@code {{-}}/{@code -}}} trimming
     * around expressions (every Qwen and Llama 3.1 template uses it), filters binding tighter than
     * {@code +} ({@code 'a' + x | trim}), strict whitespace-control parsing, loop values that may
     * be none, evaluated dict keys, iteration over dict keys.
     */
    private static final JinjavaConfig CONFIG = JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            .withLegacyOverrides(LegacyOverrides.newBuilder()
                    .withUseTrimmingForNotesAndExpressions(true)
                    .withUseNaturalOperatorPrecedence(true)
                    .withParseWhitespaceControlStrictly(true)
                    .withKeepNullableLoopValues(true)
                    .withEvaluateMapKeys(true)
                    .withIterateOverMapKeys(true)
                    .build())
            .build();

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final boolean stripBos;
    private final boolean stripEos;
    private final Jinjava jinjava;

    /**
     * @param source   the Jinja template text
     * @param bosToken the text of the BOS token ({@code ""} when the model has none)
     * @param eosToken the text of the EOS token
     * @param addsBos  whether the tokenizer adds BOS by itself (a leading {@code bosToken} is cut)
     * @param addsEos  whether the tokenizer adds EOS by itself (a trailing {@code eosToken} is cut)
     */
    public JinjaChatTemplate(String source, String bosToken, String eosToken, boolean addsBos, boolean addsEos) {
        this.source = source;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.stripBos = addsBos && !bosToken.isEmpty();
        this.stripEos = addsEos && !eosToken.isEmpty();
        this.jinjava = new Jinjava(CONFIG);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaChatTemplate.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaChatTemplate.class, "strftimeNow", String.class));
    }

    /** The template text. */
    public String source() {
        return source;
    }

    @Override
    public String description() {
        return "tokenizer.chat_template (Jinja)";
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        RenderResult r = jinjava.renderForResult(source, ctx);
        for (TemplateError e : r.getErrors()) {
            Raised raised = raised(e);
            if (raised != null) {
                throw new ChatTemplateException(raised.getMessage(), "the model's chat template refused the conversation: " + raised.getMessage());
            }
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException(e.getMessage(), "the model's chat template failed on this conversation (line " + e.getLineno()
                        + "): " + e.getMessage());
            }
        }
        String out = r.getOutput();
        if (stripBos && out.startsWith(bosToken)) {
            out = out.substring(bosToken.length());
        }
        if (stripEos && out.endsWith(eosToken)) {
            out = out.substring(0, out.length() - eosToken.length());
        }
        return out;
    }

    /**
     * The first problem that makes the template unusable whatever the conversation, found by
     * rendering a one-message conversation: a syntax error (an unclosed tag, an unknown tag), or
     * null when it renders (a {@code raise_exception} on that conversation still counts as
     * rendering).
     */
    public String syntaxProblem() {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", List.of(Map.of("role", "user", "content", "Hello")));
        ctx.put("add_generation_prompt", true);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        RenderResult r = jinjava.renderForResult(source, ctx);
        for (TemplateError e : r.getErrors()) {
            if (raised(e) == null && (e.getReason() == TemplateError.ErrorReason.SYNTAX_ERROR || e.getSeverity() == TemplateError.ErrorType.FATAL)) {
                return "line " + e.getLineno() + ": " + e.getMessage();
            }
        }
        return null;
    }

    private static Raised raised(TemplateError e) {
        for (Throwable t = e.getException(); t != null; t = t.getCause()) {
            if (t instanceof Raised r) {
                return r;
            }
        }
        return null;
    }

    /** {@code raise_exception(message)}: ends the render with the template's message. */
    public static Object raiseException(Object message) {
        throw new Raised(String.valueOf(message));
    }

    /** {@code strftime_now(format)}: the local time in a Python strftime format (%Y %m %d %B %b %A %a %H %M %S %%). */
    public static String strftimeNow(String format) {
        ZonedDateTime now = ZonedDateTime.now();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char f = format.charAt(++i);
            sb.append(switch (f) {
                case 'Y' -> String.valueOf(now.getYear());
                case 'm' -> String.format(Locale.ROOT, "%02d", now.getMonthValue());
                case 'd' -> String.format(Locale.ROOT, "%02d", now.getDayOfMonth());
                case 'B' -> now.format(DateTimeFormatter.ofPattern("MMMM", Locale.ENGLISH));
                case 'b' -> now.format(DateTimeFormatter.ofPattern("MMM", Locale.ENGLISH));
                case 'A' -> now.format(DateTimeFormatter.ofPattern("EEEE", Locale.ENGLISH));
                case 'a' -> now.format(DateTimeFormatter.ofPattern("EEE", Locale.ENGLISH));
                case 'H' -> String.format(Locale.ROOT, "%02d", now.getHour());
                case 'M' -> String.format(Locale.ROOT, "%02d", now.getMinute());
                case 'S' -> String.format(Locale.ROOT, "%02d", now.getSecond());
                case '%' -> "%";
                default -> "%" + f;
            });
        }
        return sb.toString();
    }

    /** What {@code raise_exception} throws through Jinjava. */
    static final class Raised extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Raised(String message) {
            super(message, null, false, false);
        }
    }
}
