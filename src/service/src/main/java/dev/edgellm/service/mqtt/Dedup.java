package dev.edgellm.service.mqtt;

import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells a request from a copy of one already answered or being answered: requests are keyed by
 * reply topic and id together, with a hash of the payload. The answered ones are in the
 * {@link ResponseCache} (on disk, so this holds across restarts); the ones being answered are held
 * here. The same key with another payload is a conflict: never another request's answer.
 */
final class Dedup {
    /** What to do with a request. */
    sealed interface Verdict permits Fresh, Cached, Attached, Conflict {}

    /** Not seen: answer it. */
    record Fresh() implements Verdict {}

    /** Answered before: send this response again. */
    record Cached(byte[] payload) implements Verdict {}

    /** Being answered right now: this copy was attached to it and is acknowledged with it. */
    record Attached() implements Verdict {}

    /** The key was used for a different request (payload). */
    record Conflict() implements Verdict {}

    private final ResponseCache cache;
    private final ConcurrentHashMap<String, InFlight> inFlight = new ConcurrentHashMap<>();

    Dedup(ResponseCache cache) {
        this.cache = cache;
    }

    /**
     * Looks a request up. A request that is just finishing (closed, its response not cached yet)
     * is waited for, briefly.
     */
    Verdict check(String replyTopic, String id, String hash, Delivery d) throws InterruptedException {
        while (true) {
            Optional<ResponseCache.Entry> hit = cache.get(replyTopic, id);
            if (hit.isPresent()) {
                return hit.get().requestHash().equals(hash) ? new Cached(hit.get().payload()) : new Conflict();
            }
            InFlight f = inFlight.get(key(replyTopic, id));
            if (f == null) {
                return new Fresh();
            }
            if (!f.hash.equals(hash)) {
                return new Conflict();
            }
            if (f.attach(d)) {
                return new Attached();
            }
            Thread.sleep(5); // it is finishing: its response is in the cache in a moment (or it failed and is gone)
        }
    }

    /** A request starts being answered. */
    void begin(InFlight f) {
        inFlight.put(f.key(), f);
    }

    /** Keeps an {@code ok} response for duplicates: on disk before it is published. */
    void remember(InFlight f, byte[] response) {
        cache.put(f.replyTopic, f.request.id(), f.hash, response);
    }

    /** The request is done (answered or abandoned); returns every delivery of it. */
    List<Delivery> end(InFlight f) {
        List<Delivery> all = f.close();
        inFlight.remove(f.key(), f);
        return all;
    }

    /** Requests being answered. */
    int inFlight() {
        return inFlight.size();
    }

    ResponseCache cache() {
        return cache;
    }

    static String key(String replyTopic, String id) {
        return replyTopic + '\u0000' + id;
    }

    /** SHA-256 of a request payload, hex: tells a copy of a request from a different request under the same id. */
    static String hash(byte[] payload) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(payload));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
