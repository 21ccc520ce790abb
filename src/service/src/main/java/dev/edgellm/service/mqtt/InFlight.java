package dev.edgellm.service.mqtt;

import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A request being answered, and the copies of it that arrived meanwhile (acknowledged together
 * with it). Made by the intake thread, attached to by the intake thread, closed by the reply
 * thread: the list of deliveries is guarded by this object.
 */
final class InFlight {
    final MqttRequest request;
    final String replyTopic;
    final String hash;
    /** The {@code input} report of a summary, else null. */
    final Map<String, Object> input;
    /** When the work goes stale, or null. */
    final Instant deadline;
    /** Streams text to {@code <reply>/stream}, or null. */
    final ChunkSink sink;
    private final List<Delivery> deliveries = new ArrayList<>();
    private boolean closed;

    InFlight(MqttRequest request, String replyTopic, String hash, Delivery first, Map<String, Object> input, Instant deadline, ChunkSink sink) {
        this.request = request;
        this.replyTopic = replyTopic;
        this.hash = hash;
        this.input = input;
        this.deadline = deadline;
        this.sink = sink;
        deliveries.add(first);
    }

    String key() {
        return Dedup.key(replyTopic, request.id());
    }

    /** Adds a copy to acknowledge with the original; false when the original is already done. */
    synchronized boolean attach(Delivery d) {
        if (closed) {
            return false;
        }
        deliveries.add(d);
        return true;
    }

    /** Ends the request; returns every delivery of it. */
    synchronized List<Delivery> close() {
        closed = true;
        return List.copyOf(deliveries);
    }
}
