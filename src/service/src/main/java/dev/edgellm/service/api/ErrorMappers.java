package dev.edgellm.service.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.JsonMappingException;
import dev.edgellm.service.engine.EngineFailureException;
import dev.edgellm.service.engine.EngineUnavailableException;
import dev.edgellm.service.engine.QueueFullException;
import dev.edgellm.service.monitor.EngineMetrics;
import dev.edgellm.service.request.InvalidRequestException;
import jakarta.inject.Inject;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * Every error of the REST API in OpenAI's shape (Ollama's, {@code {"error":"..."}}, on the Ollama
 * endpoints, where a full queue is 503 as in Ollama). Bad JSON and invalid fields answer 400, an
 * oversize body 413, a full queue 429 and no model 503 (both with {@code Retry-After}).
 */
public class ErrorMappers {
    private static final Logger LOG = Logger.getLogger(ErrorMappers.class);

    @Inject
    EngineMetrics metrics;
    @Inject
    io.quarkus.vertx.http.runtime.CurrentVertxRequest current;

    /** The path of the request being answered (null outside a request). */
    private String path() {
        io.vertx.ext.web.RoutingContext rc = current.getCurrent();
        return rc == null ? null : rc.normalizedPath();
    }

    /** An error response in the shape of the request's API (OpenAI's, or Ollama's on its endpoints: {@link ErrorShape}). */
    private Response error(int status, String type, String message, String param, String code, Duration retryAfter) {
        return error(path(), status, type, message, param, code, retryAfter);
    }

    /** An error response for a request to {@code path}: OpenAI's shape, or Ollama's on its endpoints. */
    public static Response error(String path, int status, String type, String message, String param, String code, Duration retryAfter) {
        Response.ResponseBuilder b = Response.status(ErrorShape.status(path, status)).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(ErrorShape.body(path, message, type, param, code));
        if (retryAfter != null) {
            b.header("Retry-After", Long.toString(Math.max(1, retryAfter.toSeconds())));
        }
        return b.build();
    }

    private Response count(Response r) {
        String outcome = switch (r.getStatus()) {
            case 413 -> EngineMetrics.TOO_LARGE;
            case 429 -> EngineMetrics.QUEUE_FULL;
            case 503 -> EngineMetrics.NOT_READY;
            default -> r.getStatus() >= 500 ? EngineMetrics.FAILED : EngineMetrics.INVALID;
        };
        metrics.outcome("http", outcome);
        return r;
    }

    @ServerExceptionMapper
    public Response api(ApiException e) {
        return count(error(e.status(), e.type(), e.getMessage(), e.param(), e.code(), e.retryAfter()));
    }

    /** A field that the rules every intake shares refused. */
    @ServerExceptionMapper
    public Response invalid(InvalidRequestException e) {
        return count(error(400, ApiException.INVALID_REQUEST, e.getMessage(), e.param(), e.code(), null));
    }

    @ServerExceptionMapper
    public Response queueFull(QueueFullException e) {
        metrics.outcome("http", EngineMetrics.QUEUE_FULL); // (503 on the Ollama endpoints, as Ollama answers)
        return error(429, ApiException.RATE_LIMIT, e.getMessage(), null, "queue_full", e.retryAfter());
    }

    @ServerExceptionMapper
    public Response unavailable(EngineUnavailableException e) {
        return count(error(503, ApiException.SERVER_ERROR, e.getMessage(), null, "model_not_loaded", e.retryAfter()));
    }

    @ServerExceptionMapper
    public Response engineFailure(EngineFailureException e) {
        return count(error(500, ApiException.SERVER_ERROR, e.getMessage(), null, "engine_failure", null));
    }

    @ServerExceptionMapper
    public Response completion(CompletionException e) {
        Throwable c = e.getCause();
        if (c instanceof EngineFailureException f) {
            return engineFailure(f);
        }
        return unexpected(c == null ? e : c);
    }

    /** Unparseable JSON, or a field of the wrong type. */
    @ServerExceptionMapper({JsonProcessingException.class, com.fasterxml.jackson.core.JsonParseException.class,
            com.fasterxml.jackson.databind.exc.MismatchedInputException.class, com.fasterxml.jackson.databind.exc.InvalidFormatException.class})
    public Response badJson(JsonProcessingException e) {
        String param = null;
        if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
            param = m.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                    .collect(Collectors.joining(".")).replace(".[", "[");
        }
        // Source locations say "REDACTED"; keep the line and column only.
        String detail = e.getOriginalMessage().replaceAll("\\s*\\(start marker at \\[Source: [^]]*\\]\\)", "");
        if (e.getLocation() != null) {
            detail += " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
        }
        boolean syntax = e instanceof StreamReadException || e.getCause() instanceof StreamReadException;
        String message = syntax || param == null ? "the request body is not valid JSON: " + detail
                : "invalid value for '" + param + "': " + detail;
        return count(error(400, ApiException.INVALID_REQUEST, message, syntax ? null : param, "invalid_json", null));
    }

    /** Errors the framework raises: 404, 405, 406, 413, 415, and bodies it could not read. */
    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        if (e.getCause() instanceof JsonProcessingException j) {
            return badJson(j);
        }
        int status = e.getResponse() == null ? 500 : e.getResponse().getStatus();
        String path = path();
        String message = switch (status) {
            case 404, 405 -> ErrorShape.ollama(path) ? path + (status == 404 ? " is not implemented by EdgeLLM" : " does not take this method")
                    + " (it serves the one model it was started with: /api/generate, /api/chat, /api/tags, /api/ps, /api/show, /api/version)"
                    : status == 404 ? "no such endpoint" : "method not allowed on this endpoint";
            case 406 -> "cannot produce the requested media type (Accept); this endpoint answers application/json";
            case 413 -> "the request body is too large";
            case 415 -> "the request body must be JSON (Content-Type: application/json)";
            default -> e.getMessage();
        };
        String code = switch (status) {
            case 404 -> "not_found";
            case 413 -> "request_too_large";
            case 415 -> "unsupported_media_type";
            default -> null;
        };
        return count(error(status, status >= 500 ? ApiException.SERVER_ERROR : ApiException.INVALID_REQUEST, message, null, code, null));
    }

    /**
     * Anything else. A body cut off by the HTTP server (over the size limit, or the client went
     * away) is one line in the log; a real fault is logged with its stack trace under an error id
     * that the client gets instead of the exception text.
     */
    @ServerExceptionMapper(priority = jakarta.ws.rs.Priorities.USER + 1000)
    public Response unexpected(Throwable e) {
        if (isBodyCutOff(e)) {
            LOG.debugf("request body cut off: %s", e.toString());
            return count(error(413, ApiException.INVALID_REQUEST, "the request body is too large or was cut off", null, "request_too_large", null));
        }
        String id = "err-" + Long.toString(System.currentTimeMillis(), 36) + "-" + Integer.toString(ERRORS.incrementAndGet(), 36);
        LOG.errorf(e, "unexpected error in a request (error id %s)", id);
        return count(error(500, ApiException.SERVER_ERROR, "internal error (error id " + id + "; the server log has the details)", null, null, null));
    }

    private static final java.util.concurrent.atomic.AtomicInteger ERRORS = new java.util.concurrent.atomic.AtomicInteger();

    private static boolean isBodyCutOff(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException || t instanceof io.vertx.core.VertxException
                    || t.getClass().getName().endsWith("ClosedChannelException") || t.getClass().getSimpleName().contains("TooLong")) {
                return true;
            }
        }
        return false;
    }
}
