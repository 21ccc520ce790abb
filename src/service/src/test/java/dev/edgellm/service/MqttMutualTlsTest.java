package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.MqttResources;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestMqtt;
import dev.edgellm.service.testing.TestPki;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The service against a broker that requires a client certificate (mosquitto,
 * {@code require_certificate true}): with {@code edgellm.mqtt.tls.cert-file}/{@code key-file} it
 * connects over TLS and answers requests, and the {@code mqtt} health check is UP.
 */
@QuarkusTest
@TestProfile(Profiles.MqttMutualTls.class)
class MqttMutualTlsTest {
    @BeforeAll
    static void toolsInstalled() {
        String why = Mosquitto.unavailable() != null ? Mosquitto.unavailable() : TestPki.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    @Test
    void withItsClientCertificateTheNodeConnectsAndAnswers() throws Exception {
        Await.modelLoaded();
        Await.until("connected to the broker over TLS", () -> given().get("/api/system").then().extract().jsonPath().getBoolean("mqtt.connected"));
        try (TestMqtt client = TestMqtt.connect(MqttResources.port()).subscribe("test/#")) {
            String id = "tls-" + System.nanoTime();
            String reply = "test/replies/" + id;
            client.publish("edgellm/" + Profiles.MQTT_NODE + "/requests",
                    "{\"id\":\"" + id + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"temperature\":0,\"reply_to\":\"" + reply + "\"}");
            JsonNode r = client.await("the answer", TestMqtt.on(reply), Duration.ofSeconds(60)).json();
            assertEquals("ok", r.path("status").asText(), r.toString());
            assertEquals(4, r.path("usage").path("completion_tokens").asInt(), r.toString());
        }
        JsonPath health = Management.given().get("/q/health/well").then().statusCode(200).extract().jsonPath();
        assertEquals("UP", health.getString("checks.find { it.name == 'mqtt' }.status"));
        assertTrue(health.getBoolean("checks.find { it.name == 'mqtt' }.data.connected"));
        given().get("/api/system").then().body("mqtt.failed_cycles", equalTo(0));
    }
}
