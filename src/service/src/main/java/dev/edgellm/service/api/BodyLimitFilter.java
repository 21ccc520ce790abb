package dev.edgellm.service.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.api.openai.Responses.ErrorBody;
import dev.edgellm.service.api.openai.Responses.ErrorDetail;
import dev.edgellm.service.monitor.EngineMetrics;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Answers a request whose {@code Content-Length} exceeds {@code quarkus.http.limits.max-body-size}
 * with 413 and an OpenAI-style error body before the body is read (the HTTP server's own check
 * would answer 413 with an empty body).
 */
@ApplicationScoped
public class BodyLimitFilter {
    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    MemorySize maxBodySize;
    @Inject
    ObjectMapper json;
    @Inject
    EngineMetrics metrics;

    void register(@Observes Filters filters) {
        long limit = maxBodySize.asLongValue();
        filters.register(rc -> {
            String length = rc.request().getHeader(HttpHeaders.CONTENT_LENGTH);
            long n;
            try {
                n = length == null ? -1 : Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n > limit) {
                String body;
                try {
                    body = json.writeValueAsString(new ErrorBody(new ErrorDetail("the request body has " + n + " bytes, more than the limit of "
                            + limit + " (quarkus.http.limits.max-body-size)", ApiException.INVALID_REQUEST, null, "request_too_large")));
                } catch (JsonProcessingException e) {
                    body = "{\"error\":{\"message\":\"the request body is too large\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"request_too_large\"}}";
                }
                metrics.outcome("http", EngineMetrics.TOO_LARGE);
                rc.response().setStatusCode(413).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                        .putHeader(HttpHeaders.CONNECTION, "close").end(body);
                return;
            }
            rc.next();
        }, 1000);
    }
}
