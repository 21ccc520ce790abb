package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.engine.EngineFailureException;
import dev.edgellm.service.engine.FinishReason;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.monitor.EngineMetrics;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Answers: their JSON, the topic each goes to, and the order of things (an ok answer is cached
 * before it is published, a request is acknowledged only after its answer is out, a job cut short
 * by a shutdown is neither answered nor acknowledged).
 */
class RepliesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Topics TOPICS = new Topics("edgellm", "gw-7");
    static final ReplyPolicy POLICY = new ReplyPolicy(List.of("edgellm/replies/"), TOPICS);

    /** Records what is published; each publish completes when the test says so. */
    static final class FakeWire implements Replies.Wire {
        record Sent(String topic, JsonNode body, boolean retain, CompletableFuture<Void> done) {}

        final List<Sent> sent = new CopyOnWriteArrayList<>();
        boolean autoComplete = true;

        @Override
        public CompletableFuture<Void> deliver(String topic, byte[] payload) {
            return publish(topic, payload, false);
        }

        @Override
        public CompletableFuture<Void> publish(String topic, byte[] payload, boolean retain) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            try {
                sent.add(new Sent(topic, JSON.readTree(payload), retain, f));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            if (autoComplete) {
                f.complete(null);
            }
            return f;
        }
    }

    final FakeWire wire = new FakeWire();
    final List<Delivery> settled = new CopyOnWriteArrayList<>();
    final List<String> counted = new ArrayList<>();
    final ResponseCache cache = ResponseCache.inMemory(Duration.ofMinutes(10), 100, Clock.systemUTC(), JSON);
    final Dedup dedup = new Dedup(cache);
    boolean running = true;
    final Replies replies = new Replies(JSON, wire, TOPICS, POLICY, () -> "gemma3-tiny-q4_0", dedup, settled::add, counted::add, () -> running, 4);

    InFlight begin(String payload, boolean stream, Instant deadline) throws Exception {
        Delivery d = Deliveries.of("edgellm/pool/requests", payload);
        MqttRequest req = new MqttRequestParser(JSON, 65536).parse(d.payload());
        String reply = replies.replyTopic(req.id(), req.replyTo());
        InFlight f = new InFlight(req, reply, Dedup.hash(d.payload()), d, null, deadline, stream ? replies.sink(req.id(), reply) : null);
        dedup.begin(f);
        return f;
    }

    static GenerationOutcome outcome(String text, FinishReason reason) {
        return new GenerationOutcome(text, 5, 3, reason, 1_000_000, 20_000_000, 25_000_000, 60_000_000);
    }

    @Test
    void errorsGoToTheReplyToTheResponseTopicOfTheIdOrTheErrorsTopic() {
        assertEquals("edgellm/replies/hmi/1", replies.errorTopic(new RequestError("1", "edgellm/replies/hmi/1", RequestError.INVALID_REQUEST, "x", "m")));
        assertEquals("edgellm/gw-7/responses/2", replies.errorTopic(new RequestError("2", null, RequestError.UNKNOWN_KIND, "kind", "m")));
        assertEquals("edgellm/gw-7/errors", replies.errorTopic(new RequestError(null, null, RequestError.INVALID_JSON, null, "m")));
        assertEquals("edgellm/gw-7/errors", replies.errorTopic(new RequestError("3", null, RequestError.INVALID_REPLY_TO, "reply_to", "m")),
                "a request whose reply_to is refused is not listening on the default topic either");
        assertEquals("edgellm/gw-7/errors", replies.errorTopic(new RequestError("4", "plant/valve/cmd", RequestError.INVALID_REQUEST, null, "m")),
                "nothing is published to a reply_to outside the allowed prefixes");
    }

    @Test
    void anErrorIsPublishedThenTheRequestIsAcknowledged() {
        wire.autoComplete = false;
        Delivery d = Deliveries.of("edgellm/gw-7/requests", "{}");
        replies.error(d, new RequestError("e1", null, RequestError.PROMPT_TOO_LONG, "prompt", "too long"));
        FakeWire.Sent s = wire.sent.getFirst();
        assertEquals("edgellm/gw-7/responses/e1", s.topic());
        assertEquals("""
                {"id":"e1","status":"error","error":{"code":"prompt_too_long","message":"too long","param":"prompt"},"model":"gemma3-tiny-q4_0","node":"gw-7"}""",
                s.body().toString());
        assertTrue(settled.isEmpty(), "not acknowledged before the broker has the answer");
        s.done().complete(null);
        assertEquals(List.of(d), settled);
    }

    @Test
    void anErrorWithoutAnIdHasANullId() {
        replies.error(Deliveries.of("edgellm/gw-7/requests", "x"), new RequestError(null, null, RequestError.INVALID_JSON, null, "not JSON"));
        JsonNode b = wire.sent.getFirst().body();
        assertTrue(b.has("id") && b.get("id").isNull());
        assertFalse(b.path("error").has("param"));
    }

    @Test
    void anOkAnswerIsCachedBeforeItIsPublishedAndEveryCopyIsAcknowledgedAfterIt() throws Exception {
        wire.autoComplete = false;
        InFlight f = begin("{\"id\":\"g1\",\"prompt\":\"hi\",\"reply_to\":\"edgellm/replies/hmi/g1\"}", false, null);
        Delivery copy = Deliveries.of("edgellm/gw-7/requests", "{\"id\":\"g1\",\"prompt\":\"hi\",\"reply_to\":\"edgellm/replies/hmi/g1\"}");
        assertTrue(f.attach(copy));
        replies.finish(f, outcome("Once upon", FinishReason.LENGTH), null);
        FakeWire.Sent s = wire.sent.getFirst();
        assertEquals("edgellm/replies/hmi/g1", s.topic());
        assertTrue(cache.get("edgellm/replies/hmi/g1", "g1").isPresent(), "on disk before it is published");
        JsonNode b = s.body();
        assertEquals("ok", b.path("status").asText());
        assertEquals("generate", b.path("kind").asText());
        assertEquals("Once upon", b.path("text").asText());
        assertEquals("length", b.path("finish_reason").asText());
        assertEquals(8, b.path("usage").path("total_tokens").asInt());
        assertEquals(20.0, b.path("timings").path("prompt_ms").asDouble());
        assertEquals(250.0, b.path("timings").path("prompt_tokens_per_second").asDouble());
        assertEquals("gw-7", b.path("node").asText());
        assertTrue(settled.isEmpty());
        assertEquals(1, dedup.inFlight());
        s.done().complete(null);
        assertEquals(2, settled.size(), "the request and its copy");
        assertEquals(0, dedup.inFlight());
    }

    @Test
    void streamedTextGoesOutInOrderedChunksBeforeTheAnswer() throws Exception {
        InFlight f = begin("{\"id\":\"s1\",\"prompt\":\"hi\",\"stream\":true}", true, null);
        for (String piece : List.of("On", "ce", " upon", " a", " t", "ime")) {
            f.sink.onText(piece);
        }
        replies.finish(f, outcome("Once upon a time", FinishReason.STOP), null);
        List<FakeWire.Sent> chunks = wire.sent.stream().filter(s -> s.topic().equals("edgellm/gw-7/responses/s1/stream")).toList();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < chunks.size(); i++) {
            assertEquals(i, chunks.get(i).body().path("seq").asInt());
            assertTrue(i == chunks.size() - 1 || chunks.get(i).body().path("text").asText().length() >= 4, "at least chunk-chars characters");
            text.append(chunks.get(i).body().path("text").asText());
        }
        assertEquals("Once upon a time", text.toString());
        FakeWire.Sent last = wire.sent.getLast();
        assertEquals("edgellm/gw-7/responses/s1", last.topic(), "the answer comes after every chunk");
        assertEquals(chunks.size(), last.body().path("chunks").asInt());
    }

    @Test
    void aJobCutShortByAShutdownIsNeitherAnsweredNorAcknowledged() throws Exception {
        InFlight f = begin("{\"id\":\"c1\",\"prompt\":\"hi\"}", false, null);
        running = false;
        replies.finish(f, outcome("", FinishReason.CANCELLED), null);
        assertTrue(wire.sent.isEmpty());
        assertTrue(settled.isEmpty(), "the broker keeps it for the next start");
        assertEquals(0, dedup.inFlight());
    }

    @Test
    void aJobCancelledPastItsDeadlineIsAnsweredExpiredAndAFailureEngineFailure() throws Exception {
        InFlight f = begin("{\"id\":\"x1\",\"prompt\":\"hi\",\"ttl_s\":1}", false, Instant.now().minusSeconds(1));
        replies.finish(f, outcome("", FinishReason.CANCELLED), null);
        JsonNode e = wire.sent.getFirst().body().path("error");
        assertEquals("expired", e.path("code").asText());
        assertEquals("ttl_s", e.path("param").asText());
        assertEquals(List.of(EngineMetrics.EXPIRED), counted);

        InFlight g = begin("{\"id\":\"x2\",\"prompt\":\"hi\"}", false, null);
        replies.finish(g, null, new CompletionException(new EngineFailureException("generation failed inside the engine (request gen-9)", null)));
        JsonNode e2 = wire.sent.getLast().body().path("error");
        assertEquals("engine_failure", e2.path("code").asText());
        assertEquals("generation failed inside the engine (request gen-9)", e2.path("message").asText());
        assertTrue(cache.get("edgellm/gw-7/responses/x2", "x2").isEmpty(), "errors are not cached: a corrected request may reuse its id");
        assertInstanceOf(Dedup.Fresh.class, dedup.check("edgellm/gw-7/responses/x2", "x2", g.hash, g.close().getFirst()));
    }
}
