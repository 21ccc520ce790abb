package dev.edgellm.service.mqtt;

/**
 * A request that cannot be answered with text: answered with an {@code error} response instead.
 *
 * @see MqttRequestParser
 */
public final class RequestError extends Exception {
    private static final long serialVersionUID = 1L;

    /** Machine-readable codes of {@code error.code}. */
    public static final String INVALID_JSON = "invalid_json";
    public static final String MISSING_ID = "missing_id";
    public static final String INVALID_ID = "invalid_id";
    public static final String INVALID_REPLY_TO = "invalid_reply_to";
    public static final String UNKNOWN_KIND = "unknown_kind";
    public static final String TOO_LARGE = "too_large";
    public static final String INVALID_REQUEST = "invalid_request";
    public static final String PROMPT_TOO_LONG = "prompt_too_long";
    public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";
    public static final String MODEL_NOT_LOADED = "model_not_loaded";
    public static final String ENGINE_FAILURE = "engine_failure";
    /** Another request (a different payload) already used this id on this reply topic. */
    public static final String DUPLICATE_ID_CONFLICT = "duplicate_id_conflict";
    /** The request's {@code expires_at} / {@code ttl_s} passed before it could run. */
    public static final String EXPIRED = "expired";
    /** The node's inbox was full; the request was dropped (QoS 0) or refused. */
    public static final String OVERLOADED = "overloaded";
    /** A retained message on a request topic: it would run again on every subscription. */
    public static final String RETAINED_REQUEST = "retained_request";

    private final transient String id;
    private final transient String replyTo;
    private final String code;
    private final String param;

    public RequestError(String id, String replyTo, String code, String param, String message) {
        super(message, null, false, false);
        this.id = id;
        this.replyTo = replyTo;
        this.code = code;
        this.param = param;
    }

    /** The request's id when it had a usable one, else null. */
    public String id() {
        return id;
    }

    /** The request's valid {@code reply_to}, else null. */
    public String replyTo() {
        return replyTo;
    }

    public String code() {
        return code;
    }

    /** The field at fault, or null. */
    public String param() {
        return param;
    }
}
