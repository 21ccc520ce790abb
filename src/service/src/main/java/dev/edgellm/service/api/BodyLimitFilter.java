package dev.edgellm.service.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.monitor.EngineMetrics;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Limits on a request body, before any of it is buffered:
 * <ul>
 *   <li>a {@code Content-Length} over {@code quarkus.http.limits.max-body-size} answers 413 with an
 *       OpenAI-style error body (the HTTP server's own check, which also cuts chunked bodies, would
 *       answer 413 with an empty body);</li>
 *   <li>a body not complete {@code edgellm.api.body-timeout} after the request line answers 408
 *       and the connection is closed: a client trickling its body a byte at a time would
 *       otherwise hold a connection for as long as it likes (an idle timeout never fires while
 *       bytes keep coming).</li>
 * </ul>
 * Bodies are read on the event loop (see {@code quarkus.rest.input-buffer-size}), so a slow
 * sender never holds a worker thread.
 */
@ApplicationScoped
public class BodyLimitFilter {
    private static final Logger LOG = Logger.getLogger(BodyLimitFilter.class);

    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    MemorySize maxBodySize;
    @ConfigProperty(name = "quarkus.rest.input-buffer-size", defaultValue = "10k")
    MemorySize inputBufferSize;
    @Inject
    ObjectMapper json;
    @Inject
    EngineMetrics metrics;
    @Inject
    EdgeLlmConfig config;
    @Inject
    Vertx vertx;

    /** Set on the routing context once the REST layer has read the whole body (see {@link BodyReadMarker}). */
    static final String BODY_READ = "edgellm.body-read";
    /** Set on a request cut off by the body deadline: its later failure (connection closed) is expected. */
    static final String CUT = "edgellm.body-cut";

    /**
     * A request cut by the body deadline fails afterwards in the REST layer (its connection is
     * gone); that is the expected end, not an error to log with a stack trace for every slow client.
     */
    void quietCutRequests(@Observes io.vertx.ext.web.Router router) {
        router.route().order(Integer.MIN_VALUE).failureHandler(rc -> {
            if (rc.get(CUT) != null) {
                LOG.debugf("request cut by the body deadline ended: %s", rc.failure() == null ? "" : rc.failure().toString());
                return;
            }
            rc.next();
        });
    }

    /** A body sent without a length (chunked). */
    private static boolean hasBody(HttpServerRequest req) {
        return req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
    }

    void register(@Observes Filters filters) {
        long limit = maxBodySize.asLongValue();
        long timeoutMs = Math.max(1, config.api().bodyTimeout().toMillis());
        if (limit > inputBufferSize.asLongValue()) {
            LOG.warnf("quarkus.http.limits.max-body-size %d is above quarkus.rest.input-buffer-size %d: larger bodies are read on "
                    + "worker threads, where slow clients can hold them", limit, inputBufferSize.asLongValue());
        }
        filters.register(rc -> {
            HttpServerRequest req = rc.request();
            String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
            long n;
            try {
                n = length == null ? -1 : Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 0 && hasBody(req)) {
                // No length (chunked): the limit cannot be checked before reading, and the REST
                // layer would buffer the body whole. Every HTTP client sends a length with JSON.
                metrics.outcome("http", EngineMetrics.INVALID);
                RawErrors.send(rc, json, 411, ApiException.INVALID_REQUEST, "length_required",
                        "send the request body with a Content-Length (chunked request bodies are not accepted)", true);
                return;
            }
            if (n > limit) {
                metrics.outcome("http", EngineMetrics.TOO_LARGE);
                RawErrors.send(rc, json, 413, ApiException.INVALID_REQUEST, "request_too_large", "the request body has " + n
                        + " bytes, more than the limit of " + limit + " (quarkus.http.limits.max-body-size)", true);
                return;
            }
            if (!req.isEnded()) {
                long timer = vertx.setTimer(timeoutMs, id -> {
                    if (!req.isEnded() && rc.get(BODY_READ) == null && !rc.response().ended()) {
                        metrics.outcome("http", EngineMetrics.TIMEOUT);
                        LOG.debugf("%s %s from %s: body not complete after %d ms; closing", req.method(), req.path(), req.remoteAddress(), timeoutMs);
                        rc.put(CUT, Boolean.TRUE);
                        RawErrors.send(rc, json, 408, ApiException.INVALID_REQUEST, "request_timeout", "the request body did not arrive within "
                                + timeoutMs + " ms (edgellm.api.body-timeout)", true);
                        if (req.version() != io.vertx.core.http.HttpVersion.HTTP_2) {
                            req.connection().close(); // HTTP/2: the stream has ended, the connection serves others
                        }
                    }
                });
                rc.addEndHandler(v -> vertx.cancelTimer(timer));
            }
            rc.next();
        }, 1000);
    }
}
