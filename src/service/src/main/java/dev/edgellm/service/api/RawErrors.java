package dev.edgellm.service.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

/**
 * Error answers written by the HTTP filters, before a request reaches the REST layer: OpenAI's shape,
 * or Ollama's on its endpoints ({@link ErrorShape}).
 */
final class RawErrors {
    private RawErrors() {}

    /** Answers {@code status} with {@code {"error":{...}}}; returns the response for further headers (already ended). */
    static HttpServerResponse send(RoutingContext rc, ObjectMapper json, int status, String type, String code, String message,
                                   boolean close, String... headers) {
        String path = rc.normalizedPath();
        String body;
        try {
            body = json.writeValueAsString(ErrorShape.body(path, message, type, null, code));
        } catch (JsonProcessingException e) {
            body = "{\"error\":{\"message\":\"request refused\",\"type\":\"" + type + "\",\"param\":null,\"code\":\"" + code + "\"}}";
        }
        status = ErrorShape.status(path, status);
        HttpServerResponse r = rc.response();
        if (r.ended() || r.headWritten()) {
            return r;
        }
        r.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            r.putHeader(headers[i], headers[i + 1]);
        }
        // HTTP/2 has no Connection header (and ends just the stream); HTTP/1.x closes the connection
        if (close && rc.request().version() != io.vertx.core.http.HttpVersion.HTTP_2) {
            r.putHeader(HttpHeaders.CONNECTION, "close");
        }
        r.end(body);
        return r;
    }
}
