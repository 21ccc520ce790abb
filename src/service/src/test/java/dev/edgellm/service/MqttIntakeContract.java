package dev.edgellm.service;

import static dev.edgellm.service.testing.TestMqtt.on;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.MqttResources;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Reference;
import dev.edgellm.service.testing.Sse;
import dev.edgellm.service.testing.TestMqtt;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the MQTT intake does, whatever the broker: the same tests run against a real mosquitto
 * ({@link MqttMosquittoTest}) and the embedded broker ({@link MqttEmbeddedTest}), and against the
 * packaged jar ({@code ...IT}). Greedy answers equal the engine's own greedy output
 * ({@link Reference}); every bad input is answered with an error on the right topic.
 */
abstract class MqttIntakeContract {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NODE = Profiles.MQTT_NODE;
    static final String REQUESTS = "edgellm/" + NODE + "/requests";
    static final String FLEET = "edgellm/all/requests";
    static final String ERRORS = "edgellm/" + NODE + "/errors";
    static final String STATUS = "edgellm/" + NODE + "/status";
    static final Duration WAIT = Duration.ofSeconds(60);
    static final int N = 8;
    static final String PROMPT = "Once upon a time";
    static final String RECORDS = """
            [{"time":"10:00","sensor":"boiler-1","temp_c":71.5,"pressure_bar":1.9},
             {"time":"10:05","sensor":"boiler-1","temp_c":72.0,"pressure_bar":2.0},
             {"time":"10:10","sensor":"boiler-1","temp_c":95.25,"pressure_bar":3.4,"alarm":"overpressure"},
             {"time":"10:15","sensor":"pump-2","state":"off","note":"manual stop"}]""";
    static final String SUMMARY_TEXT = "Shift log: boiler 1 was serviced at 09:30.";
    private static final AtomicInteger SEQ = new AtomicInteger();

    static TestMqtt mqtt;
    static Generator.Result generated;
    static Generator.Result chatted;
    static Generator.Result summarized;

    @BeforeEach
    void connected() throws Exception {
        Await.modelLoaded();
        if (mqtt == null) {
            mqtt = TestMqtt.connect(MqttResources.port()).subscribe("edgellm/#", "test/#");
        }
        // The node is on the broker, subscribed, and serving: its retained status says so.
        mqtt.await("the node's status: online and UP", m -> m.topic().equals(STATUS) && m.json().path("health").asText().equals("UP"), WAIT);
    }

    @AfterAll
    static void disconnect() throws Exception {
        if (mqtt != null) {
            mqtt.close();
            mqtt = null;
        }
    }

    /**
     * Whether the broker sets the RETAIN flag on retained messages it sends a new subscriber.
     * Moquette 0.17 does so only for QoS 0 subscriptions.
     */
    boolean flagsRetained() {
        return true;
    }

    static String id(String what) {
        return what + "-" + SEQ.incrementAndGet() + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static String responses(String id) {
        return "edgellm/" + NODE + "/responses/" + id;
    }

    static JsonNode answer(String topic) throws InterruptedException {
        return mqtt.await("a message on " + topic, on(topic), WAIT).json();
    }

    static List<Map<String, Object>> records(String json) throws Exception {
        return JSON.readValue(json, new TypeReference<List<Map<String, Object>>>() {});
    }

    static synchronized Generator.Result generated() throws Exception {
        if (generated == null) {
            generated = Reference.text(Profiles.gemma(), PROMPT, N);
        }
        return generated;
    }

    static void assertOk(JsonNode r, String id, String kind, Generator.Result expected) {
        assertEquals("ok", r.path("status").asText(), r.toString());
        assertEquals(id, r.path("id").asText());
        assertEquals(kind, r.path("kind").asText());
        assertEquals(expected.text(), r.path("text").asText());
        assertEquals(expected.promptTokens(), r.path("usage").path("prompt_tokens").asInt());
        assertEquals(expected.tokens().length, r.path("usage").path("completion_tokens").asInt());
        assertEquals(expected.promptTokens() + expected.tokens().length, r.path("usage").path("total_tokens").asInt());
        assertEquals(expected.reason() == Generator.StopReason.MAX_TOKENS ? "length" : "stop", r.path("finish_reason").asText());
        assertEquals("gemma3-tiny-q4_0", r.path("model").asText());
        assertEquals(NODE, r.path("node").asText());
        assertTrue(r.path("timings").path("tokens_per_second").asDouble() > 0, r.toString());
        assertTrue(r.path("timings").path("time_to_first_token_ms").asDouble() > 0, r.toString());
    }

    @Test
    void generateEqualsTheEnginesGreedyOutput() throws Exception {
        String id = id("gen");
        mqtt.publish(REQUESTS, """
                {"id":"%s","kind":"generate","prompt":"%s","max_tokens":%d,"temperature":0}""".formatted(id, PROMPT, N));
        assertOk(answer(responses(id)), id, "generate", generated());
    }

    @Test
    void chatWithInstructionsEqualsTheEnginesGreedyOutput() throws Exception {
        synchronized (MqttIntakeContract.class) {
            if (chatted == null) {
                chatted = Reference.chat(Profiles.gemma(), List.of(new ChatMessage("system", "You are terse."), ChatMessage.user("Name a colour.")), N);
            }
        }
        String id = id("chat");
        mqtt.publish(REQUESTS, """
                {"id":"%s","kind":"chat","instructions":"You are terse.","messages":[{"role":"user","content":"Name a colour."}],
                 "max_tokens":%d,"temperature":0}""".formatted(id, N));
        assertOk(answer(responses(id)), id, "chat", chatted);
    }

    @Test
    void summarizeRecordsAndTextEqualsTheGreedyAnswerToTheCompactTable() throws Exception {
        synchronized (MqttIntakeContract.class) {
            if (summarized == null) {
                // the service keeps max_tokens of the 512-token context for the answer; the prompt limit is 200
                summarized = Reference.summary(Profiles.gemma(), null, SUMMARY_TEXT, records(RECORDS), Math.min(200, 512 - N), N);
            }
        }
        String id = id("sum");
        mqtt.publish(REQUESTS, """
                {"id":"%s","kind":"summarize","text":"%s","records":%s,"max_tokens":%d,"temperature":0}""".formatted(id, SUMMARY_TEXT, RECORDS, N));
        JsonNode r = answer(responses(id));
        assertOk(r, id, "summarize", summarized);
        JsonNode in = r.path("input");
        assertEquals(4, in.path("records_total").asInt());
        assertEquals(4, in.path("records_used").asInt());
        assertEquals(SUMMARY_TEXT.length(), in.path("text_chars_used").asInt());
        assertFalse(in.path("trimmed").asBoolean());
    }

    @Test
    void summarizeTrimsToTheContextKeepingTheNewestRecordsAndSaysSo() throws Exception {
        StringBuilder recs = new StringBuilder("[");
        for (int i = 0; i < 60; i++) {
            recs.append(i == 0 ? "" : ",").append("{\"t\":").append(i).append(",\"v\":").append(i * 0.5).append('}');
        }
        recs.append(']');
        String id = id("trim");
        mqtt.publish(REQUESTS, """
                {"id":"%s","kind":"summarize","records":%s,"max_tokens":%d,"temperature":0}""".formatted(id, recs, N));
        JsonNode r = answer(responses(id));
        assertEquals("ok", r.path("status").asText(), r.toString());
        JsonNode in = r.path("input");
        assertTrue(in.path("trimmed").asBoolean(), r.toString());
        assertEquals(60, in.path("records_total").asInt());
        int used = in.path("records_used").asInt();
        assertTrue(used > 0 && used < 60, r.toString());
        assertEquals("kept the newest " + used + " of 60 records to fit the context", in.path("trimming").asText());
        assertTrue(r.path("usage").path("prompt_tokens").asInt() <= in.path("prompt_token_budget").asInt());
        assertEquals(200, in.path("prompt_token_budget").asInt()); // edgellm.limits.max-prompt-tokens of the test profile
    }

    @Test
    void streamingSendsChunksInOrderThenTheFinalResponseToReplyTo() throws Exception {
        String id = id("stream");
        String reply = "test/replies/" + id;
        mqtt.publish(REQUESTS, """
                {"id":"%s","prompt":"%s","max_tokens":%d,"temperature":0,"stream":true,"reply_to":"%s"}""".formatted(id, PROMPT, N, reply));
        JsonNode fin = answer(reply);
        assertOk(fin, id, "generate", generated());
        List<TestMqtt.Msg> both = mqtt.all(m -> m.topic().equals(reply) || m.topic().equals(reply + "/stream"));
        List<JsonNode> chunks = new ArrayList<>();
        for (TestMqtt.Msg m : both) {
            if (m.topic().equals(reply)) {
                break; // the final response comes after every chunk
            }
            chunks.add(m.json());
        }
        assertEquals(both.size() - 1, chunks.size(), "only chunks before the final response, and nothing after it");
        assertEquals(fin.path("chunks").asInt(), chunks.size());
        assertTrue(chunks.size() >= 2, "chunk-chars 1: a chunk per decoded piece");
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < chunks.size(); i++) {
            assertEquals(id, chunks.get(i).path("id").asText());
            assertEquals(i, chunks.get(i).path("seq").asInt(), "chunks in order");
            text.append(chunks.get(i).path("text").asText());
        }
        assertEquals(generated().text(), text.toString());
        assertTrue(mqtt.all(on(responses(id))).isEmpty(), "reply_to replaces the default response topic");
    }

    @Test
    void everyBadInputIsAnsweredWithAClearErrorAndTheServiceKeepsRunning() throws Exception {
        String tag = id("bad");
        // not JSON, and JSON that is not an object: no id, no reply topic -> the node's errors topic
        mqtt.publish(REQUESTS, "not json " + tag);
        JsonNode e = mqtt.await("invalid_json", m -> m.topic().equals(ERRORS) && m.json().path("error").path("code").asText().equals("invalid_json")
                && m.json().path("error").path("message").asText().contains("not JSON"), WAIT).json();
        assertTrue(e.path("id").isNull());
        assertEquals("error", e.path("status").asText());
        assertEquals(NODE, e.path("node").asText());
        mqtt.publish(FLEET, "[1,2,3]");
        mqtt.await("invalid_json (array)", m -> m.topic().equals(ERRORS) && m.json().path("error").path("message").asText().contains("must be a JSON object"), WAIT);

        // missing id: errors topic, or the reply_to when there is one
        mqtt.publish(REQUESTS, "{\"prompt\":\"" + tag + "\"}");
        mqtt.await("missing_id", m -> m.topic().equals(ERRORS) && m.json().path("error").path("code").asText().equals("missing_id"), WAIT);
        String noIdReply = "test/replies/" + tag;
        mqtt.publish(REQUESTS, "{\"prompt\":\"hi\",\"reply_to\":\"" + noIdReply + "\"}");
        assertEquals("missing_id", answer(noIdReply).path("error").path("code").asText());

        // an id that cannot name a topic; a reply_to with wildcards
        mqtt.publish(REQUESTS, "{\"id\":\"a/" + tag + "\",\"prompt\":\"hi\"}");
        mqtt.await("invalid_id", m -> m.topic().equals(ERRORS) && m.json().path("error").path("code").asText().equals("invalid_id"), WAIT);
        String wild = id("wild");
        mqtt.publish(REQUESTS, "{\"id\":\"" + wild + "\",\"prompt\":\"hi\",\"reply_to\":\"test/+/x\"}");
        JsonNode w = mqtt.await("invalid_reply_to", m -> m.topic().equals(ERRORS) && m.json().path("id").asText().equals(wild), WAIT).json();
        assertEquals("invalid_reply_to", w.path("error").path("code").asText());

        // unknown kind, wrong types, limits: the response topic of the id
        String kind = id("kind");
        mqtt.publish(REQUESTS, "{\"id\":\"" + kind + "\",\"kind\":\"translate\",\"prompt\":\"hi\"}");
        JsonNode k = answer(responses(kind));
        assertEquals("unknown_kind", k.path("error").path("code").asText());
        assertEquals("kind", k.path("error").path("param").asText());
        assertTrue(k.path("error").path("message").asText().contains("\"generate\", \"chat\" or \"summarize\""));

        String type = id("type");
        mqtt.publish(REQUESTS, "{\"id\":\"" + type + "\",\"prompt\":\"hi\",\"max_tokens\":\"ten\"}");
        JsonNode t = answer(responses(type));
        assertEquals("invalid_request", t.path("error").path("code").asText());
        assertEquals("max_tokens", t.path("error").path("param").asText());

        String many = id("many");
        mqtt.publish(REQUESTS, "{\"id\":\"" + many + "\",\"prompt\":\"hi\",\"max_tokens\":1000}");
        JsonNode mt = answer(responses(many));
        assertEquals("max_tokens", mt.path("error").path("param").asText());
        assertTrue(mt.path("error").path("message").asText().contains("edgellm.limits.max-tokens"), mt.toString());

        String big = id("big");
        mqtt.publish(REQUESTS, "{\"id\":\"" + big + "\",\"prompt\":\"" + "x".repeat(5000) + "\"}");
        JsonNode b = answer(responses(big));
        assertEquals("too_large", b.path("error").path("code").asText());
        assertTrue(b.path("error").path("message").asText().contains("edgellm.mqtt.max-payload"), b.toString());

        String longPrompt = id("long");
        mqtt.publish(REQUESTS, "{\"id\":\"" + longPrompt + "\",\"prompt\":\"" + "word ".repeat(300) + "\"}");
        JsonNode lp = answer(responses(longPrompt));
        assertEquals("prompt_too_long", lp.path("error").path("code").asText(), lp.toString());
        assertEquals("prompt", lp.path("error").path("param").asText());

        // a record that cannot fit the context left after max_tokens
        String ctx = id("ctx");
        mqtt.publish(REQUESTS, "{\"id\":\"" + ctx + "\",\"kind\":\"summarize\",\"max_tokens\":400,\"records\":[{\"log\":\""
                + "valve seven reported pressure ".repeat(100) + "\"}]}");
        JsonNode c = answer(responses(ctx));
        assertEquals("context_length_exceeded", c.path("error").path("code").asText(), c.toString());

        // still serving
        String after = id("after");
        mqtt.publish(REQUESTS, "{\"id\":\"" + after + "\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + N + ",\"temperature\":0}");
        assertOk(answer(responses(after)), after, "generate", generated());
        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("intake=\"mqtt\",outcome=\"invalid\"") || metrics.contains("outcome=\"invalid\",intake=\"mqtt\""), "invalid counted");
    }

    @Test
    void aDuplicateIdIsAnsweredFromTheCacheNotGeneratedAgain() throws Exception {
        String id = id("dup");
        String body = """
                {"id":"%s","prompt":"%s","max_tokens":%d,"temperature":0}""".formatted(id, PROMPT, N);
        mqtt.publish(REQUESTS, body);
        TestMqtt.Msg first = mqtt.await("the first response", on(responses(id)), WAIT);
        int completed = given().get("/api/system").then().extract().jsonPath().getInt("engine.jobs_completed");
        // the same request again, this time through the fleet-wide topic
        mqtt.publish(FLEET, body);
        List<TestMqtt.Msg> both = mqtt.awaitCount("the second response", on(responses(id)), 2, WAIT);
        assertArrayEquals(first.payload(), both.get(1).payload(), "byte for byte the same response, timings included");
        assertEquals(completed, given().get("/api/system").then().extract().jsonPath().getInt("engine.jobs_completed"), "nothing generated again");
    }

    /**
     * The work pool: the node is its only member here (mosquitto: a shared subscription of one;
     * the embedded broker, which has no shared subscriptions: the pool topics directly), so it
     * answers pool requests, general and for its model, once each.
     */
    @Test
    void poolRequestsAreAnsweredOnce() throws Exception {
        Await.until("the node to join the pool", () -> given().get("/api/system").then().extract().jsonPath().getBoolean("mqtt.pool.joined"));
        String any = id("pool");
        String model = id("pool-model");
        String body = "{\"id\":\"%s\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + N + ",\"temperature\":0,\"reply_to\":\"test/replies/%s\"}";
        mqtt.publish("edgellm/pool/requests", body.formatted(any, any));
        mqtt.publish("edgellm/pool/gemma3-tiny-q4_0/requests", body.formatted(model, model));
        assertOk(answer("test/replies/" + any), any, "generate", generated());
        assertOk(answer("test/replies/" + model), model, "generate", generated());
        Thread.sleep(500);
        assertEquals(1, mqtt.all(on("test/replies/" + any)).size(), "answered once");
        assertEquals(1, mqtt.all(on("test/replies/" + model)).size(), "answered once");
    }

    @Test
    void theRetainedStatusDescribesTheNode() throws Exception {
        try (TestMqtt late = TestMqtt.connect(MqttResources.port()).subscribe(STATUS)) {
            // a new subscriber gets the retained status at once (live updates are not flagged retained)
            TestMqtt.Msg m = flagsRetained()
                    ? late.await("the retained status", m0 -> m0.topic().equals(STATUS) && m0.retained(), WAIT)
                    : late.await("the retained status", on(STATUS), Duration.ofMillis(1500));
            JsonNode s = m.json();
            assertEquals(NODE, s.path("node").asText());
            assertEquals("online", s.path("status").asText());
            assertEquals("UP", s.path("health").asText());
            assertEquals("READY", s.path("phase").asText());
            assertEquals("gemma3-tiny-q4_0", s.path("model").asText());
            assertEquals("scalar", s.path("backend").asText());
            assertTrue(s.path("memory_fit").path("fits").asBoolean());
            assertEquals(1, s.path("queue_capacity").asInt());
            assertNotNull(s.get("tokens_per_second"));
            assertEquals("edgellm", s.path("pool").path("group").asText());
            assertEquals(2, s.path("pool").path("max_inflight").asInt());
            assertFalse(s.path("draining").asBoolean());
        }
        given().get("/api/system").then().statusCode(200).body("mqtt.connected", equalTo(true)).body("mqtt.node", equalTo(NODE));
    }

    /**
     * One engine, one queue with one place: a REST stream holds the engine, an MQTT request takes
     * the place, the next MQTT request waits with the intake (not refused, not dropped) while REST
     * answers 429; when the engine is free both are answered.
     */
    @Test
    void whenTheQueueIsFullMqttWaitsWhileRestAnswers429() throws Exception {
        String a = id("bp-a");
        String b = id("bp-b");
        String body = "{\"id\":\"%s\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + N + ",\"temperature\":0}";
        try (Sse.RawStream holder = new Sse.RawStream(RestAssured.port, "/v1/chat/completions", ChatQueueTest.LONG)) {
            assertEquals("HTTP/1.1 200 OK", holder.status());
            holder.nextContentEvent(); // the engine is busy with this stream
            mqtt.publish(REQUESTS, body.formatted(a));
            Await.until("the MQTT request to take the queue's place", () -> ChatQueueTest.engineInt("queue_depth") == 1);
            mqtt.publish(REQUESTS, body.formatted(b));
            Await.until("the second MQTT request to wait with the intake",
                    () -> given().get("/api/system").then().extract().jsonPath().getInt("mqtt.waiting") == 1);
            given().contentType(ContentType.JSON).body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                    .post("/v1/chat/completions").then().statusCode(429).body("error.code", equalTo("queue_full"));
            assertTrue(mqtt.all(on(responses(a))).isEmpty() && mqtt.all(on(responses(b))).isEmpty(), "nothing answered or refused yet");
        }
        // the REST client hung up: its job is cancelled, and both MQTT requests are answered in order
        assertOk(answer(responses(a)), a, "generate", generated());
        assertOk(answer(responses(b)), b, "generate", generated());
    }

    /**
     * The service publishes answers with its own credentials: a reply_to outside the allowed
     * prefixes (here the fleet-wide request topic, which would turn an answer into a request to
     * every node) is refused on the errors topic and nothing is published there.
     */
    @Test
    void aReplyToOutsideTheAllowedPrefixesIsRefusedAndNothingIsPublishedThere() throws Exception {
        String id = id("rt");
        long since = System.nanoTime();
        mqtt.publish(REQUESTS, "{\"id\":\"" + id + "\",\"prompt\":\"hi\",\"max_tokens\":2,\"reply_to\":\"" + FLEET + "\"}");
        JsonNode e = mqtt.await("invalid_reply_to", m -> m.topic().equals(ERRORS) && m.json().path("id").asText().equals(id), WAIT).json();
        assertEquals("invalid_reply_to", e.path("error").path("code").asText());
        assertTrue(e.path("error").path("message").asText().contains("edgellm.mqtt.reply-prefixes"), e.toString());
        String device = "plant/valve-7/command";
        mqtt.publish(REQUESTS, "{\"prompt\":\"hi\",\"reply_to\":\"" + device + "\"}"); // missing id, with a foreign reply_to
        mqtt.await("missing_id on the errors topic", m -> m.topic().equals(ERRORS) && m.receivedNanos() > since
                && m.json().path("error").path("code").asText().equals("missing_id"), WAIT);
        // the allowed prefix works
        String ok = id("rt-ok");
        mqtt.publish(REQUESTS, "{\"id\":\"" + ok + "\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + N + ",\"temperature\":0,\"reply_to\":\"test/replies/" + ok + "\"}");
        assertOk(answer("test/replies/" + ok), ok, "generate", generated());
        assertTrue(mqtt.all(m -> m.topic().equals(FLEET) && m.receivedNanos() > since && m.text().contains("\"status\"")).isEmpty(),
                "no answer was published on the fleet-wide request topic");
        assertTrue(mqtt.all(on(device)).isEmpty(), "nothing was published to the device's topic");
    }

    /**
     * The cache was keyed on the id alone: another client sending the same id with its own
     * reply_to received the first client's answer. Now the key is (reply topic, id) and the payload
     * must match: a reused id elsewhere is a new request, and a different request under the same
     * id and reply topic is a clear error.
     */
    @Test
    void anIdReusedByAnotherClientNeverGetsTheOthersAnswer() throws Exception {
        String id = id("c1");
        String a = "test/replies/a-" + id;
        String b = "test/replies/b-" + id;
        String body = "{\"id\":\"" + id + "\",\"prompt\":\"%s\",\"max_tokens\":" + N + ",\"temperature\":0,\"reply_to\":\"%s\"}";
        mqtt.publish(REQUESTS, body.formatted(PROMPT, a));
        TestMqtt.Msg first = mqtt.await("client A's answer", on(a), WAIT);
        assertOk(first.json(), id, "generate", generated());
        mqtt.publish(REQUESTS, body.formatted("The secret code is", b));
        TestMqtt.Msg other = mqtt.await("client B's answer", on(b), WAIT);
        assertEquals("ok", other.json().path("status").asText(), other.text());
        assertFalse(java.util.Arrays.equals(first.payload(), other.payload()), "B got its own answer, not A's");
        assertEquals(id, other.json().path("id").asText());
        mqtt.publish(REQUESTS, body.formatted("Something else", a));
        List<TestMqtt.Msg> onA = mqtt.awaitCount("the conflict on A's topic", on(a), 2, WAIT);
        assertEquals("duplicate_id_conflict", onA.get(1).json().path("error").path("code").asText(), onA.get(1).text());
        // the very same request again is still answered from the cache, byte for byte
        mqtt.publish(REQUESTS, body.formatted(PROMPT, a));
        assertArrayEquals(first.payload(), mqtt.awaitCount("the cached answer", on(a), 3, WAIT).get(2).payload());
    }

    @Test
    void staleWorkIsAnsweredExpiredInsteadOfRun() throws Exception {
        String past = id("exp");
        mqtt.publish(REQUESTS, "{\"id\":\"" + past + "\",\"prompt\":\"hi\",\"expires_at\":\"2020-01-01T00:00:00Z\"}");
        JsonNode e = answer(responses(past));
        assertEquals("expired", e.path("error").path("code").asText(), e.toString());
        assertEquals("expires_at", e.path("error").path("param").asText());
        String epoch = id("exp-epoch");
        mqtt.publish(REQUESTS, "{\"id\":\"" + epoch + "\",\"prompt\":\"hi\",\"expires_at\":1000000000}");
        assertEquals("expired", answer(responses(epoch)).path("error").path("code").asText());
        String bad = id("exp-bad");
        mqtt.publish(REQUESTS, "{\"id\":\"" + bad + "\",\"prompt\":\"hi\",\"expires_at\":\"tomorrow\"}");
        JsonNode b = answer(responses(bad));
        assertEquals("invalid_request", b.path("error").path("code").asText());
        assertEquals("expires_at", b.path("error").path("param").asText());
        // ttl_s counts from the node's receipt: a request that waits behind a long job goes stale
        String ttl = id("ttl");
        try (Sse.RawStream holder = new Sse.RawStream(RestAssured.port, "/v1/chat/completions", ChatQueueTest.LONG)) {
            assertEquals("HTTP/1.1 200 OK", holder.status());
            holder.nextContentEvent();
            mqtt.publish(REQUESTS, "{\"id\":\"" + ttl + "\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + N + ",\"ttl_s\":0.5}");
            Thread.sleep(1500);
        }
        JsonNode t = answer(responses(ttl));
        assertEquals("expired", t.path("error").path("code").asText(), t.toString());
        assertEquals("ttl_s", t.path("error").path("param").asText());
    }

    /**
     * QoS 0 is never held back by the broker: a flood used to pile up in memory. The inbox (4
     * places in the test profile) is bounded for every QoS; QoS 0 requests beyond it are dropped,
     * answered "overloaded" and counted, and the ones taken are answered.
     */
    @Test
    void aQos0FloodIsBoundedDroppedWithAnErrorAndCounted() throws Exception {
        String tag = id("flood");
        int n = 40;
        try (Sse.RawStream holder = new Sse.RawStream(RestAssured.port, "/v1/chat/completions", ChatQueueTest.LONG)) {
            assertEquals("HTTP/1.1 200 OK", holder.status());
            holder.nextContentEvent();
            for (int i = 0; i < n; i++) {
                mqtt.publishQos0(REQUESTS, "{\"id\":\"" + tag + "-" + i + "\",\"prompt\":\"hi\",\"max_tokens\":1,\"temperature\":0,"
                        + "\"reply_to\":\"test/replies/" + tag + "/" + i + "\"}");
            }
            List<TestMqtt.Msg> dropped = mqtt.awaitCount("overloaded answers", m -> m.topic().startsWith("test/replies/" + tag + "/")
                    && m.json().path("error").path("code").asText().equals("overloaded"), n - 10, WAIT);
            assertTrue(dropped.getFirst().json().path("error").path("message").asText().contains("edgellm.mqtt.inbox-size"));
            assertTrue(given().get("/api/system").then().extract().jsonPath().getInt("mqtt.waiting") <= 5, "the inbox holds 4 (and one waits for a place)");
        }
        // the engine is free: everything taken is answered, and every request got exactly one answer
        mqtt.awaitCount("an answer for every request", m -> m.topic().startsWith("test/replies/" + tag + "/"), n, WAIT);
        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("outcome=\"dropped\""), "drops counted");
    }
}
