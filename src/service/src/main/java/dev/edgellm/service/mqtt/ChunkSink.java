package dev.edgellm.service.mqtt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgellm.service.engine.TokenSink;
import org.jboss.logging.Logger;

/**
 * Collects streamed text (on the engine thread) and publishes it in chunks of at least
 * {@code minChars} characters, in order, on {@code <reply topic>/stream}: {@code {"id","seq","text"}}
 * with {@code seq} 0, 1, 2, ... A lost chunk is not sent again: the response has the whole text.
 */
final class ChunkSink implements TokenSink {
    private static final Logger LOG = Logger.getLogger(ChunkSink.class);

    private final ObjectMapper json;
    private final Replies.Wire wire;
    private final String id;
    private final String topic;
    private final int minChars;
    private final StringBuilder pending = new StringBuilder();
    private int seq;

    ChunkSink(ObjectMapper json, Replies.Wire wire, String id, String topic, int minChars) {
        this.json = json;
        this.wire = wire;
        this.id = id;
        this.topic = topic;
        this.minChars = Math.max(1, minChars);
    }

    @Override
    public synchronized void onText(String delta) {
        pending.append(delta);
        if (pending.length() >= minChars) {
            emit();
        }
    }

    /** Sends what is left (before the response). */
    synchronized void flush() {
        if (!pending.isEmpty()) {
            emit();
        }
    }

    /** Chunks sent so far. */
    synchronized int chunks() {
        return seq;
    }

    private void emit() {
        ObjectNode n = json.createObjectNode();
        n.put("id", id);
        n.put("seq", seq++);
        n.put("text", pending.toString());
        pending.setLength(0);
        // handed to the connection in order; the publish order is kept
        wire.publish(topic, Replies.bytes(json, n), false).exceptionally(t -> {
            LOG.debugf("stream chunk of %s not delivered: %s", id, t.getMessage());
            return null;
        });
    }
}
