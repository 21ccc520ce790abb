package dev.edgellm.service;

import static dev.edgellm.service.testing.TestMqtt.on;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.MqttResources;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Sse;
import dev.edgellm.service.testing.TestMqtt;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A QoS 1 request over the client's size limit ({@code max-payload} 4K + 64 KiB of headers) on a
 * real mosquitto with no packet size limit of its own. The node cannot read it, so it cannot
 * acknowledge it, and the broker offers it again on every connection of the persistent session:
 * before the fix the node looped for ever and read nothing else. Now, after
 * {@code oversize-session-reset} (2) such connections, it connects once with a clean session (the
 * broker drops the message), is back with its persistent session, answers the request it had
 * already accepted before the oversize one, and answers new ones; the oversize messages and the
 * reset are counted, and the {@code mqtt} check stays UP (the loop did not persist).
 */
@QuarkusTest
@TestProfile(Profiles.MqttMosquittoOversize.class)
class MqttOversizeTest {
    static final String REQUESTS = "edgellm/" + Profiles.MQTT_NODE + "/requests";
    static final String OVERSIZE = "edgellm_mqtt_oversize_messages_total";
    static final String RESETS = "edgellm_mqtt_session_resets_total";
    static final Duration WAIT = Duration.ofSeconds(60);

    @BeforeAll
    static void mosquittoInstalled() {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    static String request(String id) {
        return "{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"temperature\":0,\"reply_to\":\"test/replies/" + id + "\"}";
    }

    static boolean connected() {
        return given().get("/api/system").then().extract().jsonPath().getBoolean("mqtt.connected");
    }

    @Test
    void aQos1MessageOverTheLimitEndsInOneSessionResetAndNoAcceptedRequestIsLost() throws Exception {
        Await.modelLoaded();
        Await.until("connected to mosquitto", MqttOversizeTest::connected);
        double oversize = Management.metric(OVERSIZE);
        double resets = Management.metric(RESETS);
        String accepted = "accepted-" + System.nanoTime();
        try (TestMqtt mqtt = TestMqtt.connect(MqttResources.port()).subscribe("test/#")) {
            try (Sse.RawStream holder = new Sse.RawStream(RestAssured.port, "/v1/chat/completions", ChatQueueTest.LONG)) {
                assertEquals("HTTP/1.1 200 OK", holder.status());
                holder.nextContentEvent(); // the engine is busy with this stream
                mqtt.publish(REQUESTS, request(accepted));
                Await.until("the request to take the queue's place (accepted, not acknowledged yet)", () -> ChatQueueTest.engineInt("queue_depth") == 1);

                byte[] big = ("{\"id\":\"big\",\"prompt\":\"" + "x".repeat(200 * 1024) + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                mqtt.publish(REQUESTS, big); // QoS 1: the broker holds it for the node until the node acknowledges it
                TestMqtt.until("the loop ended by a session reset", WAIT, () -> Management.metric(RESETS) >= resets + 1);
                assertTrue(Management.metric(OVERSIZE) >= oversize + 2, "each connection of the loop counted the oversize message");
                TestMqtt.until("connected again", WAIT, MqttOversizeTest::connected);
                Thread.sleep(1500); // the broker would offer it again now if it still had it
                assertTrue(connected(), "no more oversize cycles");
                JsonPath health = Management.given().get("/q/health/well").then().extract().jsonPath();
                assertEquals("UP", health.getString("checks.find { it.name == 'mqtt' }.status"), health.prettify());
                assertTrue(health.getLong("checks.find { it.name == 'mqtt' }.data.session_resets") >= 1, health.prettify());
            }
            // the engine is free: the request accepted before the oversize one is answered, once
            JsonNode a = mqtt.await("the accepted request's answer", on("test/replies/" + accepted), WAIT).json();
            assertEquals("ok", a.path("status").asText(), a.toString());
            String after = "after-" + System.nanoTime();
            mqtt.publish(REQUESTS, request(after));
            JsonNode b = mqtt.await("a new request's answer", on("test/replies/" + after), WAIT).json();
            assertEquals("ok", b.path("status").asText(), b.toString());
            assertEquals(1, mqtt.all(on("test/replies/" + accepted)).size(), "answered once");
            assertTrue(Management.metric(OVERSIZE) <= oversize + 3, "the loop stopped: " + Management.metric(OVERSIZE));
        }
    }
}
