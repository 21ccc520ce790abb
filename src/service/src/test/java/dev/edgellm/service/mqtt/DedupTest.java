package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recognizing copies: by reply topic, id and payload; answered ones from the cache (across restarts), running ones attached. */
class DedupTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String REPLY = "edgellm/replies/a/r1";
    static final String BODY = "{\"id\":\"r1\",\"prompt\":\"hi\"}";

    static ResponseCache memory() {
        return ResponseCache.inMemory(Duration.ofMinutes(10), 100, Clock.systemUTC(), JSON);
    }

    static InFlight inFlight(Delivery d, String replyTopic) throws Exception {
        MqttRequest req = new MqttRequestParser(JSON, 65536).parse(d.payload());
        return new InFlight(req, replyTopic, Dedup.hash(d.payload()), d, null, null, null);
    }

    @Test
    void aNewRequestIsFreshAndItsCopyWhileRunningIsAttachedToIt() throws Exception {
        Dedup dedup = new Dedup(memory());
        Delivery first = Deliveries.of("edgellm/n/requests", BODY);
        String hash = Dedup.hash(first.payload());
        assertInstanceOf(Dedup.Fresh.class, dedup.check(REPLY, "r1", hash, first));
        InFlight f = inFlight(first, REPLY);
        dedup.begin(f);
        assertEquals(1, dedup.inFlight());
        Delivery copy = Deliveries.of("edgellm/pool/requests", BODY);
        assertInstanceOf(Dedup.Attached.class, dedup.check(REPLY, "r1", hash, copy));
        List<Delivery> all = dedup.end(f);
        assertEquals(List.of(first, copy), all, "both deliveries are acknowledged when the answer is out");
        assertEquals(0, dedup.inFlight());
    }

    @Test
    void anAnsweredRequestIsAnsweredFromTheCacheAndAnotherPayloadUnderItsIdIsAConflict() throws Exception {
        Dedup dedup = new Dedup(memory());
        Delivery d = Deliveries.of("edgellm/n/requests", BODY);
        InFlight f = inFlight(d, REPLY);
        dedup.begin(f);
        byte[] response = "{\"id\":\"r1\",\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
        dedup.remember(f, response);
        dedup.end(f);
        Dedup.Verdict again = dedup.check(REPLY, "r1", Dedup.hash(BODY.getBytes(StandardCharsets.UTF_8)), d);
        assertArrayEquals(response, assertInstanceOf(Dedup.Cached.class, again).payload());
        String other = Dedup.hash("{\"id\":\"r1\",\"prompt\":\"something else\"}".getBytes(StandardCharsets.UTF_8));
        assertNotEquals(Dedup.hash(d.payload()), other);
        assertInstanceOf(Dedup.Conflict.class, dedup.check(REPLY, "r1", other, d));
        // the same id on another reply topic is another client's request
        assertInstanceOf(Dedup.Fresh.class, dedup.check("edgellm/replies/b/r1", "r1", other, d));
    }

    @Test
    void aDifferentPayloadWhileTheFirstRunsIsAConflictNotAnAttachment() throws Exception {
        Dedup dedup = new Dedup(memory());
        Delivery d = Deliveries.of("edgellm/n/requests", BODY);
        dedup.begin(inFlight(d, REPLY));
        assertInstanceOf(Dedup.Conflict.class, dedup.check(REPLY, "r1", Dedup.hash("{\"id\":\"r1\"}".getBytes(StandardCharsets.UTF_8)), d));
    }

    @Test
    void answersSurviveARestart(@TempDir Path dir) throws Exception {
        Delivery d = Deliveries.of("edgellm/n/requests", BODY);
        byte[] response = "{\"id\":\"r1\",\"status\":\"ok\",\"text\":\"once\"}".getBytes(StandardCharsets.UTF_8);
        try (ResponseCache cache = ResponseCache.open(dir, Duration.ofMinutes(10), 100, Clock.systemUTC(), JSON)) {
            Dedup dedup = new Dedup(cache);
            InFlight f = inFlight(d, REPLY);
            dedup.begin(f);
            dedup.remember(f, response);
            dedup.end(f);
        }
        try (ResponseCache cache = ResponseCache.open(dir, Duration.ofMinutes(10), 100, Clock.systemUTC(), JSON)) {
            Dedup.Verdict v = new Dedup(cache).check(REPLY, "r1", Dedup.hash(d.payload()), d);
            assertArrayEquals(response, assertInstanceOf(Dedup.Cached.class, v).payload());
        }
    }

    /**
     * A copy arriving while the original's error answer is going out (closed, not gone yet) waits
     * for it; errors are not cached, so the copy then runs as a request of its own.
     */
    @Test
    void aCopyArrivingAsAFailedOriginalClosesWaitsThenRunsAgain() throws Exception {
        Dedup dedup = new Dedup(memory());
        Delivery d = Deliveries.of("edgellm/n/requests", BODY);
        InFlight f = inFlight(d, REPLY);
        dedup.begin(f);
        f.close();
        CompletableFuture<Dedup.Verdict> copy = CompletableFuture.supplyAsync(() -> {
            try {
                return dedup.check(REPLY, "r1", Dedup.hash(d.payload()), Deliveries.of("edgellm/n/requests", BODY));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
        assertFalse(copy.isDone(), "it waits while the original is still there");
        dedup.end(f);
        assertInstanceOf(Dedup.Fresh.class, copy.get(5, TimeUnit.SECONDS));
    }
}
