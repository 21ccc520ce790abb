package dev.edgellm.service.api;

import java.time.Duration;

/**
 * An error answered in OpenAI's shape: {@code {"error":{"message","type","param","code"}}} with
 * an HTTP status and, for 429/503, a {@code Retry-After}.
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public static final String INVALID_REQUEST = "invalid_request_error";
    public static final String RATE_LIMIT = "rate_limit_error";
    public static final String SERVER_ERROR = "server_error";

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final transient Duration retryAfter;

    public ApiException(int status, String type, String message, String param, String code, Duration retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfter = retryAfter;
    }

    /** 400 for a field that is wrong. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(400, INVALID_REQUEST, message, param, null, null);
    }

    /** 400 with a machine-readable code. */
    public static ApiException invalid(String param, String code, String message) {
        return new ApiException(400, INVALID_REQUEST, message, param, code, null);
    }

    /** 404. */
    public static ApiException notFound(String param, String message) {
        return new ApiException(404, INVALID_REQUEST, message, param, "not_found", null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
