package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.sampling.SamplingParams;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.GenerationJob;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.MqttResources;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestMqtt;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Watches against a real mosquitto (README, "Watches"): a window of telemetry from four devices of
 * different shapes (and text and broken payloads) summarized once per window with the right counts
 * and fields; an early summary within 2 s of a record matching the trigger condition; a window too
 * large for the context reduced and said so; the API's validation; a window that cannot be
 * summarized reported on the errors topic and in the metrics; and watch summaries behind
 * interactive work on the engine's queue.
 */
@QuarkusTest
@TestProfile(Profiles.Watches.class)
class WatchMosquittoTest {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String ERRORS = "edgellm/" + Profiles.MQTT_NODE + "/errors";
    static TestMqtt mqtt;

    @Inject
    EngineService engine;

    @BeforeAll
    static void mosquittoInstalled() {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    @BeforeEach
    void connected() throws Exception {
        Await.modelLoaded();
        if (mqtt == null) {
            mqtt = TestMqtt.connect(MqttResources.port()).subscribe("site/summary", "plant/alerts", "burst-summary", "bad/summary", ERRORS);
        }
        Await.until("watch site runs here", () -> given().get("/api/watches/site").then().extract().jsonPath().getBoolean("state.running_here"));
    }

    @AfterAll
    static void disconnect() throws Exception {
        if (mqtt != null) {
            mqtt.close();
            mqtt = null;
        }
    }

    @Test
    void telemetryOfFourDevicesIsSummarizedOncePerWindowWithCountsPerTopicAndFields() throws Exception {
        Map<String, Integer> sent = new TreeMap<>();
        double minTemp = Double.MAX_VALUE;
        double maxTemp = -Double.MAX_VALUE;
        int text = 0;
        int malformed = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < 200; i++) {
            int d = i % 4;
            String topic = "site/dev" + d + "/telemetry";
            double temp = 20 + (i * 7 % 50) / 2.0;
            String payload = switch (d) {
                case 0 -> "{\"temp_c\":" + temp + ",\"unit\":\"C\"}";
                case 1 -> "{\"env\":{\"humidity\":" + (40 + i % 10) + "},\"temp_c\":" + temp + "}";
                case 2 -> "{\"readings\":[{\"name\":\"flow\",\"value\":" + i + "}],\"state\":\"on\"}";
                default -> i % 20 == 3 ? "rebooting after watchdog reset" : i % 20 == 7 ? "{\"alarm\": \"door" : "{\"alarm\":\"none\",\"battery\":" + (i % 100) + "}";
            };
            if (d == 0 || d == 1) {
                minTemp = Math.min(minTemp, temp);
                maxTemp = Math.max(maxTemp, temp);
            }
            if (d == 3 && i % 20 == 3) {
                text++;
            } else if (d == 3 && i % 20 == 7) {
                malformed++;
            }
            sent.merge(topic, 1, Integer::sum);
            mqtt.publish(topic, payload);
            Thread.sleep(30); // spread over about two windows
        }
        assertTrue(text > 0 && malformed > 0);
        // one summary per window, until all 200 records are accounted for
        List<JsonNode> summaries = new ArrayList<>();
        long end = System.nanoTime() + WAIT.toNanos();
        int total = 0;
        while (total < 200 && System.nanoTime() < end) {
            summaries = mqtt.all(TestMqtt.on("site/summary")).stream().map(TestMqtt.Msg::json).toList();
            total = summaries.stream().mapToInt(s -> s.path("records").asInt()).sum();
            Thread.sleep(100);
        }
        Thread.sleep(6000); // a further window would have no records: nothing more may come
        summaries = mqtt.all(TestMqtt.on("site/summary")).stream().map(TestMqtt.Msg::json).toList();
        assertEquals(200, summaries.stream().mapToInt(s -> s.path("records").asInt()).sum(), summaries.toString());
        assertTrue(summaries.size() >= 2 && summaries.size() <= 3, "about 6 s of records in 5 s windows: " + summaries.size());
        Map<String, Integer> perTopic = new TreeMap<>();
        int gotText = 0;
        int gotMalformed = 0;
        Instant lastEnd = Instant.EPOCH;
        double gotMin = Double.MAX_VALUE;
        double gotMax = -Double.MAX_VALUE;
        java.util.Set<String> devices = new java.util.TreeSet<>();
        java.util.Set<String> fieldNames = new java.util.TreeSet<>();
        for (JsonNode s : summaries) {
            assertEquals("site", s.path("watch").asText());
            assertEquals(Profiles.MQTT_NODE, s.path("node").asText());
            assertEquals("schedule", s.path("trigger").asText());
            Instant start = Instant.parse(s.path("window_start").asText());
            Instant stop = Instant.parse(s.path("window_end").asText());
            assertFalse(start.isBefore(lastEnd), "windows do not overlap: " + summaries);
            long ms = Duration.between(start, stop).toMillis();
            assertTrue(ms >= 4500 && ms <= 5500, "a 5 s window: " + ms + " ms");
            lastEnd = stop;
            s.path("records_per_topic").properties().forEach(e -> perTopic.merge(e.getKey(), e.getValue().asInt(), Integer::sum));
            gotText += s.path("payloads").path("text").asInt();
            gotMalformed += s.path("payloads").path("malformed").asInt();
            JsonNode temp = s.path("fields").path("temp");
            if (!temp.isMissingNode()) {
                gotMin = Math.min(gotMin, temp.path("min").asDouble());
                gotMax = Math.max(gotMax, temp.path("max").asDouble());
            }
            s.path("fields").path("device").path("values").forEach(v -> devices.add(v.asText()));
            s.path("fields").properties().forEach(e -> fieldNames.add(e.getKey()));
            assertFalse(s.path("text").isMissingNode());
            assertTrue(s.path("usage").path("completion_tokens").asInt() >= 1, s.toString());
            assertTrue(s.path("timings").has("prompt_ms"), s.toString());
        }
        assertEquals(sent, perTopic, "records per topic over the windows");
        assertEquals(java.util.Set.of("dev0", "dev1", "dev2", "dev3"), devices, "the devices, from topic[1]");
        assertEquals(java.util.Set.of("alarm", "device", "humidity", "reading", "temp", "text", "malformed"), fieldNames,
                "every extracted field from the four shapes, and the text and malformed payloads kept as such");
        assertEquals(text, gotText);
        assertEquals(malformed, gotMalformed);
        assertEquals(minTemp, gotMin);
        assertEquals(maxTemp, gotMax);
        System.out.printf(Locale.ROOT, "watch site: %d summaries for 200 records in %.1f s%n", summaries.size(), (System.nanoTime() - t0) / 1e9);
    }

    @Test
    void aMatchingRecordFiresAnEarlySummaryWithinTwoSeconds() throws Exception {
        given().contentType(ContentType.JSON).body("""
                {"topics":["plant/+/temp"],"extract":{"temp":"$.temp_c","machine":"topic[1]"},"window":{"time":"60s"},
                 "trigger":{"condition":"$.temp_c > 90","after":"100ms"},"prompt":"Alert the operator in one line.","max_tokens":4,"temperature":0,
                 "publish_to":"plant/alerts"}""")
                .put("/api/watches/hot").then().statusCode(200);
        Await.until("watch hot runs here", () -> given().get("/api/watches/hot").then().extract().jsonPath().getBoolean("state.running_here"));
        // a node that has served before (the JIT has compiled the engine's loops), as a gateway is after its first minutes
        given().contentType(ContentType.JSON).body("{\"prompt\":\"Once upon a time\",\"max_tokens\":8}").post("/v1/completions").then().statusCode(200);
        for (int i = 0; i < 3; i++) {
            mqtt.publish("plant/press" + i + "/temp", "{\"temp_c\":" + (70 + i) + "}");
        }
        long sentAt = System.nanoTime();
        Instant sent = Instant.now();
        mqtt.publish("plant/press7/temp", "{\"temp_c\":95.5}");
        TestMqtt.Msg m = mqtt.await("the early summary", TestMqtt.on("plant/alerts"), WAIT);
        double seconds = (m.receivedNanos() - sentAt) / 1e9;
        JsonNode s = m.json();
        assertEquals("condition", s.path("trigger").asText(), s.toString());
        assertEquals(95.5, s.path("triggered_by").path("temp").asDouble(), s.toString());
        assertEquals("press7", s.path("triggered_by").path("machine").asText(), s.toString());
        assertEquals(4, s.path("records").asInt(), "the records around it: " + s);
        // Fired (the window closed and its job started on the engine) within 2 s of the record; the text then takes as long as
        // the model needs for the prompt (on this test machine's scalar backend, 20-60 prompt tokens/s: seconds for ~170 tokens).
        double fired = Duration.between(sent, Instant.parse(s.path("window_end").asText())).toMillis() / 1000.0
                + s.path("timings").path("queue_ms").asDouble() / 1000;
        assertTrue(fired < 2.0, "early summary fired " + fired + " s after the matching record: " + s);
        System.out.printf(Locale.ROOT, "early summary: fired %.2f s, published %.2f s after the matching record (prompt %d tokens in %.0f ms)%n", fired,
                seconds, s.path("usage").path("prompt_tokens").asInt(), s.path("timings").path("prompt_ms").asDouble());
        given().delete("/api/watches/hot").then().statusCode(200);
    }

    @Test
    void aWindowLargerThanTheContextIsReducedAndSaysHow() throws Exception {
        for (int i = 0; i < 300; i++) {
            mqtt.publish("burst/sensor" + (i % 3), "{\"v\":" + i + ",\"note\":\"a reading with some words to take up room\"}");
        }
        TestMqtt.Msg m = mqtt.await("the burst summary", TestMqtt.on("burst-summary"), WAIT);
        JsonNode s = m.json();
        assertEquals("count", s.path("trigger").asText(), s.toString());
        assertEquals(300, s.path("records").asInt());
        assertEquals(Map.of("burst/sensor0", 100, "burst/sensor1", 100, "burst/sensor2", 100),
                Map.of("burst/sensor0", s.path("records_per_topic").path("burst/sensor0").asInt(), "burst/sensor1",
                        s.path("records_per_topic").path("burst/sensor1").asInt(), "burst/sensor2", s.path("records_per_topic").path("burst/sensor2").asInt()));
        JsonNode reduced = s.path("reduced");
        assertTrue(reduced.isObject(), "reduced: " + s);
        int verbatim = reduced.path("records_verbatim").asInt();
        assertTrue(verbatim < 300, reduced.toString());
        assertTrue(reduced.path("records_folded_by_byte_budget").asInt() > 0, "4K of payloads hold fewer than 300 records: " + reduced);
        assertEquals(300 - verbatim, reduced.path("records_trimmed_oldest").asInt() + reduced.path("records_folded_by_byte_budget").asInt());
        assertTrue(reduced.path("summary").asText().contains("statistics"), reduced.toString());
        assertEquals(0.0, s.path("fields").path("v").path("min").asDouble());
        assertEquals(299.0, s.path("fields").path("v").path("max").asDouble());
        assertEquals(149.5, s.path("fields").path("v").path("mean").asDouble());
        int budget = reduced.path("prompt_token_budget").asInt();
        int promptTokens = s.path("usage").path("prompt_tokens").asInt();
        assertTrue(promptTokens <= budget && budget <= 200, promptTokens + " prompt tokens within " + budget);
        assertTrue(promptTokens + s.path("usage").path("completion_tokens").asInt() <= engine.context());
        try (TestMqtt late = TestMqtt.connect(MqttResources.port()).subscribe("burst-summary")) {
            TestMqtt.Msg kept = late.await("the retained summary", TestMqtt.on("burst-summary"), WAIT);
            assertTrue(kept.retained(), "retain: true keeps the last summary for late subscribers");
            assertEquals("burst", kept.json().path("watch").asText());
        }
    }

    @Test
    void badWatchesAnswer400NamingTheField() {
        String ok = "\"window\":{\"time\":\"5s\"},\"publish_to\":\"x/summary\"";
        assertEquals("extract.temp", given().contentType(ContentType.JSON).body("{\"topics\":[\"a/b\"],\"extract\":{\"temp\":\"$.[[temp\"}," + ok + "}")
                .put("/api/watches/bad").then().statusCode(400).extract().jsonPath().getString("error.param"));
        assertEquals("topics[1]", given().contentType(ContentType.JSON).body("{\"topics\":[\"a/b\",\"a/#/c\"]," + ok + "}")
                .put("/api/watches/bad").then().statusCode(400).extract().jsonPath().getString("error.param"));
        assertEquals("colour", given().contentType(ContentType.JSON).body("{\"topics\":[\"a/b\"],\"colour\":\"red\"," + ok + "}")
                .put("/api/watches/bad").then().statusCode(400).extract().jsonPath().getString("error.param"));
        given().get("/api/watches/bad").then().statusCode(404);
        given().delete("/api/watches/site").then().statusCode(409);
    }

    @Test
    void aWindowThatCannotBeSummarizedGoesToTheErrorsTopicAndTheMetrics() throws Exception {
        String huge = "Describe every reading in detail. ".repeat(80);
        given().contentType(ContentType.JSON).body("{\"topics\":[\"toolong/+\"],\"window\":{\"time\":\"2s\"},\"prompt\":\"" + huge
                + "\",\"max_tokens\":4,\"publish_to\":\"bad/summary\"}").put("/api/watches/toolong").then().statusCode(200);
        Await.until("watch toolong runs here", () -> given().get("/api/watches/toolong").then().extract().jsonPath().getBoolean("state.running_here"));
        mqtt.publish("toolong/a", "{\"x\":1}");
        JsonNode e = mqtt.await("the error", m -> m.topic().equals(ERRORS) && m.text().contains("\"watch\":\"toolong\""), WAIT).json();
        assertEquals("watch_too_large", e.path("error").path("code").asText(), e.toString());
        assertEquals(1, e.path("records").asInt());
        assertTrue(mqtt.all(TestMqtt.on("bad/summary")).isEmpty());
        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("edgellm_watch_windows_total{outcome=\"too_large\",watch=\"toolong\"} 1.0"), metrics.lines()
                .filter(l -> l.contains("watch_windows")).toList().toString());
        given().delete("/api/watches/toolong").then().statusCode(200);
    }

    @Test
    void interactiveJobsGoBeforeWatchSummaries() throws Exception {
        int[] prompt = engine.tokenize("Once upon a time");
        GenerationRequest longOne = new GenerationRequest(prompt, 64, SamplingParams.greedy(), List.of(), false);
        GenerationRequest shortOne = new GenerationRequest(prompt, 2, SamplingParams.greedy(), List.of(), false);
        CompletableFuture<?> busy = engine.submit(GenerationJob.of("http", longOne)).result().toCompletableFuture();
        Await.until("the engine to be busy", engine::busy);
        List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<?> bg = engine.submitBackground(GenerationJob.background("watch", shortOne, Instant.now().plusSeconds(60)))
                .result().toCompletableFuture().thenRun(() -> order.add("background"));
        CompletableFuture<?> fg = engine.submit(GenerationJob.of("http", shortOne)).result().toCompletableFuture().thenRun(() -> order.add("interactive"));
        CompletableFuture.allOf(busy, bg, fg).get(120, TimeUnit.SECONDS);
        assertEquals(List.of("interactive", "background"), order, "the interactive job queued after the background one ran first");
        assertNotNull(engine.status());
    }
}
