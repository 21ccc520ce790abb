package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.PackagedApp;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestMqtt;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A watch on a fleet, with the packaged service: two nodes on one mosquitto declare the same watch
 * (5 s windows); each window is summarized by one node only; the holder is killed (SIGKILL) and the
 * other takes the watch over within one window; a watch created over the API (keyed) survives the
 * killed node's restart, and the restarted node does not take the running watch back.
 */
class WatchFleetIT {
    static final String KEY = "watch-fleet-key-0123456789";
    static final Duration WAIT = Duration.ofSeconds(180);
    static final Duration WINDOW = Duration.ofSeconds(5);

    final Map<String, PackagedApp> apps = new LinkedHashMap<>();
    final Map<String, Integer> ports = new LinkedHashMap<>();

    PackagedApp node(String id, int broker, Path state, int run) throws Exception {
        int http = ports.computeIfAbsent(id, k -> freePort());
        List<String> s = new ArrayList<>(List.of("-Dedgellm.model.path=" + Profiles.gemma(), "-Dedgellm.backend=scalar", "-Dedgellm.threads=1",
                "-Dedgellm.context=512", "-Dedgellm.limits.max-prompt-tokens=200", "-Dquarkus.http.port=" + http,
                "-Dquarkus.management.port=" + freePort(), "-Dedgellm.mqtt.host=127.0.0.1", "-Dedgellm.mqtt.port=" + broker,
                "-Dedgellm.node-id=" + id, "-Dedgellm.mqtt.state-dir=" + state.resolve(id), "-Dedgellm.mqtt.status-interval=2s",
                "-Dedgellm.api.keys=" + KEY, "-Dedgellm.monitor.status-interval=60s",
                "-Dedgellm.watches.line.topics=line/+/telemetry", "-Dedgellm.watches.line.extract.rpm=$.rpm",
                "-Dedgellm.watches.line.extract.machine=topic[1]", "-Dedgellm.watches.line.window.time=5s",
                "-Dedgellm.watches.line.max-tokens=4", "-Dedgellm.watches.line.temperature=0", "-Dedgellm.watches.line.publish-to=line/summary"));
        return PackagedApp.start("watch-fleet-" + id + "-" + run, List.of("-Xmx256m"), s);
    }

    static int freePort() {
        try {
            return Mosquitto.freePort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static boolean holds(TestMqtt mqtt, String node, long sinceNanos) {
        List<TestMqtt.Msg> st = mqtt.all(m -> m.topic().equals("edgellm/" + node + "/status") && m.receivedNanos() > sinceNanos);
        return !st.isEmpty() && st.getLast().json().path("watches").path("held").has("line");
    }

    @Test
    void eachWindowIsSummarizedByOneNodeAndTheWatchMovesWhenItsNodeDies() throws Exception {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
        Path state = Files.createTempDirectory("edgellm-watch-fleet");
        AtomicBoolean sending = new AtomicBoolean(true);
        try (Mosquitto broker = Mosquitto.start(); TestMqtt mqtt = TestMqtt.connect(broker.port()).subscribe("edgellm/+/status", "line/summary")) {
            for (String n : List.of("watch-a", "watch-b")) {
                apps.put(n, node(n, broker.port(), state, 1));
            }
            TestMqtt.until("one node holds the watch", WAIT, () -> holds(mqtt, "watch-a", 0) || holds(mqtt, "watch-b", 0));
            Thread telemetry = Thread.ofVirtual().start(() -> {
                try (TestMqtt pub = TestMqtt.connect(broker.port())) {
                    for (int i = 0; sending.get(); i++) {
                        pub.publish("line/m" + (i % 3) + "/telemetry", "{\"rpm\":" + (1000 + i % 50) + "}");
                        Thread.sleep(100);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            List<TestMqtt.Msg> first = mqtt.awaitCount("three summaries", TestMqtt.on("line/summary"), 3, WAIT);
            String holder = first.getFirst().json().path("node").asText();
            String other = holder.equals("watch-a") ? "watch-b" : "watch-a";
            for (TestMqtt.Msg m : first) {
                assertEquals(holder, m.json().path("node").asText(), "every window from the holder");
            }
            assertFalse(holds(mqtt, other, System.nanoTime() - 3_000_000_000L) && holds(mqtt, other, 0), other + " does not hold it too");

            // a watch over the API, keyed like the rest of /api
            int port = ports.get(holder);
            String body = "{\"topics\":[\"kept/+\"],\"window\":{\"time\":\"1m\"},\"publish_to\":\"kept-summary\"}";
            RestAssured.given().port(port).contentType(ContentType.JSON).body(body).put("/api/watches/kept").then().statusCode(401);
            RestAssured.given().port(port).auth().oauth2(KEY).contentType(ContentType.JSON).body(body).put("/api/watches/kept").then().statusCode(200);
            assertEquals("extract.x", RestAssured.given().port(port).auth().oauth2(KEY).contentType(ContentType.JSON)
                    .body("{\"topics\":[\"kept/+\"],\"extract\":{\"x\":\"$..[\"},\"window\":{\"time\":\"1m\"},\"publish_to\":\"k/s\"}")
                    .put("/api/watches/bad").then().statusCode(400).extract().jsonPath().getString("error.param"));

            // kill the holder: the other node takes over within one window
            Instant killedAt = Instant.now();
            long killed = System.nanoTime();
            apps.get(holder).process().destroyForcibly();
            assertTrue(apps.get(holder).process().waitFor(10, TimeUnit.SECONDS));
            TestMqtt.until(other + " holds the watch", WINDOW, () -> holds(mqtt, other, killed));
            double tookOver = (System.nanoTime() - killed) / 1e9;
            TestMqtt.Msg next = mqtt.await("a summary from " + other, m -> m.topic().equals("line/summary") && m.receivedNanos() > killed
                    && m.json().path("node").asText().equals(other), WAIT);
            Instant nextStart = Instant.parse(next.json().path("window_start").asText());
            assertTrue(Duration.between(killedAt, nextStart).compareTo(WINDOW) < 0, "the new holder's first window starts within one window of the kill: "
                    + next.text());

            // the killed node comes back: the API's watch is still there; the running watch stays where it is
            apps.put(holder, node(holder, broker.port(), state, 2));
            long restarted = System.nanoTime();
            mqtt.await(holder + " online again", m -> m.topic().equals("edgellm/" + holder + "/status") && m.receivedNanos() > restarted
                    && m.json().path("health").asText().equals("UP"), WAIT);
            JsonNode kept = RestAssured.given().port(port).auth().oauth2(KEY).get("/api/watches/kept").then().statusCode(200).extract().as(JsonNode.class);
            assertEquals("api", kept.path("source").asText());
            assertEquals("kept-summary", kept.path("publish_to").asText());
            Thread.sleep(2 * WINDOW.toMillis());
            assertFalse(holds(mqtt, holder, restarted), "the restarted node does not take the watch back");
            sending.set(false);
            telemetry.join(5000);
            Thread.sleep(WINDOW.toMillis() + 3000);

            // exactly one summary per window: no two summaries' windows overlap, whichever node sent them
            List<JsonNode> all = mqtt.all(TestMqtt.on("line/summary")).stream().map(TestMqtt.Msg::json).toList();
            List<Instant[]> windows = new ArrayList<>();
            for (JsonNode s : all) {
                Instant a = Instant.parse(s.path("window_start").asText());
                Instant b = Instant.parse(s.path("window_end").asText());
                for (Instant[] w : windows) {
                    assertTrue(!a.isBefore(w[1]) || !b.isAfter(w[0]), "windows overlap: " + all);
                }
                windows.add(new Instant[] {a, b});
            }
            System.out.printf("watch fleet: %d summaries, %s held it, %s took over %.1f s after the kill%n", all.size(), holder, other, tookOver);
        } finally {
            sending.set(false);
            for (PackagedApp a : apps.values()) {
                a.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
