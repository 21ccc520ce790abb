package dev.edgellm.service.api;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Which error format a request path answers in. The OpenAI API and EdgeLLM's own endpoints answer
 * {@code {"error":{"message","type","param","code"}}}; the Ollama-compatible endpoints answer as
 * Ollama does, {@code {"error":"message"}}, which is what Ollama's clients read (they show the
 * string; an object there is an unreadable error to them).
 */
public final class ErrorShape {
    /** The Ollama API's endpoints under {@code /api} (those EdgeLLM serves and those it refuses in Ollama's shape). */
    static final Set<String> OLLAMA = Set.of("generate", "chat", "tags", "ps", "show", "version", "pull", "push", "create", "copy",
            "delete", "embed", "embeddings", "blobs");

    private ErrorShape() {}

    /** Whether a (normalized) request path is one of Ollama's endpoints. */
    public static boolean ollama(String path) {
        if (path == null || !path.startsWith("/api/")) {
            return false;
        }
        String rest = path.substring("/api/".length());
        int slash = rest.indexOf('/');
        return OLLAMA.contains(slash < 0 ? rest : rest.substring(0, slash));
    }

    /**
     * The error body for {@code path}: Ollama's {@code {"error": message}} on its endpoints,
     * OpenAI's object elsewhere.
     */
    static Object body(String path, String message, String type, String param, String code) {
        if (ollama(path)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("error", message);
            return m;
        }
        return new dev.edgellm.service.api.openai.Responses.ErrorBody(new dev.edgellm.service.api.openai.Responses.ErrorDetail(message, type, param, code));
    }

    /**
     * The status for {@code path}: Ollama answers a full queue with 503 ("server busy"), not 429.
     */
    static int status(String path, int status) {
        return status == 429 && ollama(path) ? 503 : status;
    }
}
