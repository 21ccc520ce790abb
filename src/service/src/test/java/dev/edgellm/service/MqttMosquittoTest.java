package dev.edgellm.service;

import static dev.edgellm.service.testing.TestMqtt.on;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.MqttResources;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestMqtt;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The MQTT intake against a real mosquitto, started on a free port for this application. */
@QuarkusTest
@TestProfile(Profiles.MqttMosquitto.class)
class MqttMosquittoTest extends MqttIntakeContract {
    static final String INVALID = "edgellm_requests_total{intake=\"mqtt\",outcome=\"invalid\"}";

    @BeforeAll
    static void mosquittoInstalled() {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    /**
     * A retained request would run again on every new subscription, for ever. MQTT 3.1.1 gives a
     * message the retain flag only when a subscription is made (a live copy to a node already
     * subscribed comes without it, and is an ordinary request): so the node here answers the live
     * copy once; then its connection is taken over, it reconnects and subscribes again, gets the
     * retained copy with the flag, and refuses it with {@code retained_request} on the request's
     * reply topic, counted as invalid, and runs nothing.
     */
    @Test
    void aRetainedRequestIsRefusedWhenItComesFromASubscription() throws Exception {
        String id = id("retained");
        String reply = "test/replies/" + id;
        try {
            mqtt.publishRetained(REQUESTS, "{\"id\":\"" + id + "\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + N
                    + ",\"temperature\":0,\"reply_to\":\"" + reply + "\"}");
            assertOk(answer(reply), id, "generate", generated()); // the live copy: an ordinary request
            int completed = given().get("/api/system").then().extract().jsonPath().getInt("engine.jobs_completed");
            double invalid = Management.metric(INVALID);
            String clientId = given().get("/api/system").then().extract().jsonPath().getString("mqtt.client_id");

            TestMqtt.takeOver(MqttResources.port(), clientId);
            List<TestMqtt.Msg> both = mqtt.awaitCount("the refusal of the retained copy", on(reply), 2, WAIT);
            JsonNode e = both.get(1).json();
            assertEquals("error", e.path("status").asText(), e.toString());
            assertEquals("retained_request", e.path("error").path("code").asText(), e.toString());
            assertEquals(id, e.path("id").asText());
            assertTrue(e.path("error").path("message").asText().contains("without the retain flag"), e.toString());
            TestMqtt.until("the refusal counted as invalid", WAIT, () -> Management.metric(INVALID) >= invalid + 1);
            Thread.sleep(500);
            assertEquals(completed, given().get("/api/system").then().extract().jsonPath().getInt("engine.jobs_completed"),
                    "the retained copy was not run");
            assertEquals(2, mqtt.all(on(reply)).size(), "one answer and one refusal, nothing else");
        } finally {
            mqtt.publishRetained(REQUESTS, ""); // clears the retained request
        }
    }
}
