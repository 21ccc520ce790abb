package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgellm.service.engine.FinishReason;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.monitor.EngineMetrics;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Answers requests: the response JSON ({@code ok} with text, usage and timings, or {@code error}
 * with a code), where it goes (the request's {@code reply_to} when allowed, the node's response
 * topic of the id, else the node's errors topic), and the order of things: an {@code ok} response
 * is in the {@link Dedup} cache before it is published, and a request is acknowledged only after
 * its answer was acknowledged by the broker. Runs on the reply thread (results) and the intake
 * thread (errors found before generation); it keeps no state of its own.
 */
final class Replies {
    /** Where answers are published. */
    interface Wire {
        /** Publishes until the broker has it (retrying across reconnections while the service runs). */
        CompletableFuture<Void> deliver(String topic, byte[] payload);

        /** Publishes once (stream chunks). */
        CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain);
    }

    private final ObjectMapper json;
    private final Wire wire;
    private final Topics topics;
    private final ReplyPolicy policy;
    private final Supplier<String> modelId;
    private final Dedup dedup;
    private final Consumer<Delivery> settle;
    private final Consumer<String> count;
    private final BooleanSupplier running;
    private final int chunkChars;

    /**
     * @param settle  acknowledges a request once its answer is out
     * @param count   counts an outcome ({@link EngineMetrics}'s names)
     * @param running false once the service stops: a job cut short then is neither answered nor acknowledged
     */
    Replies(ObjectMapper json, Wire wire, Topics topics, ReplyPolicy policy, Supplier<String> modelId, Dedup dedup, Consumer<Delivery> settle,
            Consumer<String> count, BooleanSupplier running, int chunkChars) {
        this.json = json;
        this.wire = wire;
        this.topics = topics;
        this.policy = policy;
        this.modelId = modelId;
        this.dedup = dedup;
        this.settle = settle;
        this.count = count;
        this.running = running;
        this.chunkChars = chunkChars;
    }

    /** Where an answer to {@code replyTo} goes: the default response topic of {@code id} when there is no reply_to. */
    String replyTopic(String id, String replyTo) {
        return replyTo != null ? replyTo : topics.responses(id);
    }

    /** A sink that streams a request's text to {@code <reply topic>/stream}. */
    ChunkSink sink(String id, String replyTopic) {
        return new ChunkSink(json, wire, id, Topics.stream(replyTopic), chunkChars);
    }

    /**
     * The topic of an error: the request's reply_to when it is allowed, the response topic of its
     * id when it has a usable id and no reply_to, else the node's errors topic. A request whose
     * reply_to is unusable is not listening on the default topic either, and nothing is ever
     * published to a reply_to outside the allowed prefixes.
     */
    String errorTopic(RequestError e) {
        if (e.replyTo() != null && policy.allows(e.replyTo())) {
            return e.replyTo();
        }
        return e.replyTo() == null && e.id() != null && !e.code().equals(RequestError.INVALID_REPLY_TO) ? topics.responses(e.id()) : topics.errors();
    }

    /** Answers a request with an error, then acknowledges it. */
    CompletableFuture<Void> error(Delivery in, RequestError e) {
        return wire.deliver(errorTopic(e), errorJson(e.id(), e.code(), e.param(), e.getMessage())).thenRun(() -> settle.accept(in));
    }

    /** Answers a copy of an answered request with the response it got, then acknowledges it. */
    CompletableFuture<Void> again(Delivery in, String replyTopic, byte[] response) {
        return wire.deliver(replyTopic, response).thenRun(() -> settle.accept(in));
    }

    /**
     * Hands a pool request back to the pool: publishes it again, unchanged, on its topic (the
     * broker gives it to another member), then acknowledges this copy.
     */
    CompletableFuture<Void> handBack(Delivery in) {
        return wire.publish(in.topic(), in.payload(), false).thenRun(() -> settle.accept(in));
    }

    /** A job ended: answer it (reply thread). */
    void finish(InFlight f, GenerationOutcome o, Throwable t) {
        String id = f.request.id();
        if (t != null || o.finishReason() == FinishReason.CANCELLED) {
            if (!running.getAsBoolean()) {
                // Stopped mid-way by a shutdown: no answer and no acknowledgement, so the broker
                // hands the request to the next start of this node.
                dedup.end(f);
                return;
            }
            if (t == null && f.deadline != null && Instant.now().isAfter(f.deadline)) {
                count.accept(EngineMetrics.EXPIRED);
                complete(f, errorJson(id, RequestError.EXPIRED, f.request.expiresAt() != null ? "expires_at" : "ttl_s",
                        "the request expired at " + f.deadline + " before its answer was done"));
                return;
            }
            Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            String why = cause == null ? "the job was cancelled" : cause.getMessage();
            complete(f, errorJson(id, RequestError.ENGINE_FAILURE, null, why));
            return;
        }
        if (f.sink != null) {
            f.sink.flush();
        }
        byte[] body = okJson(f, o);
        // On disk before it is published: a redelivery after a crash is answered from there.
        dedup.remember(f, body);
        complete(f, body);
    }

    private void complete(InFlight f, byte[] body) {
        wire.deliver(f.replyTopic, body).whenComplete((v, e) -> {
            List<Delivery> deliveries = dedup.end(f);
            if (e == null) {
                deliveries.forEach(settle);
            }
        });
    }

    /** {@code {"id","status":"ok","kind","text","finish_reason","usage","timings","model","node",...}}. */
    byte[] okJson(InFlight f, GenerationOutcome o) {
        ObjectNode n = json.createObjectNode();
        n.put("id", f.request.id());
        n.put("status", "ok");
        n.put("kind", f.request.kind().wire());
        n.put("text", o.text());
        n.put("finish_reason", o.finishReason().openAi());
        if (o.finishReason().truncatedBy() != null) {
            n.put("truncated_by", o.finishReason().truncatedBy());
        }
        n.set("usage", json.valueToTree(OutcomeFields.usage(o)));
        n.set("timings", json.valueToTree(OutcomeFields.timings(o)));
        n.put("model", modelId.get());
        n.put("node", topics.node());
        if (f.sink != null) {
            n.put("chunks", f.sink.chunks());
        }
        if (f.input != null) {
            n.set("input", json.valueToTree(f.input));
        }
        return bytes(json, n);
    }

    /** {@code {"id","status":"error","error":{"code","message","param"},"model","node"}}; {@code id} null when the request had no usable one. */
    byte[] errorJson(String id, String code, String param, String message) {
        ObjectNode n = json.createObjectNode();
        if (id != null) {
            n.put("id", id);
        } else {
            n.putNull("id");
        }
        n.put("status", "error");
        ObjectNode e = n.putObject("error");
        e.put("code", code);
        e.put("message", message);
        if (param != null) {
            e.put("param", param);
        }
        n.put("model", modelId.get());
        n.put("node", topics.node());
        return bytes(json, n);
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static byte[] bytes(ObjectMapper json, Object o) {
        try {
            return json.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
