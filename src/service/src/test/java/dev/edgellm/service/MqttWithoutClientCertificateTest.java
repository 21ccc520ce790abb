package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestPki;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The service without a client certificate against a broker that requires one: it never gets
 * in, and after {@code edgellm.mqtt.reconnect.down-after} (3) failed cycles the {@code mqtt}
 * check of {@code /q/health/well} is DOWN (503) and says why, while readiness stays UP (the REST
 * API still serves).
 */
@QuarkusTest
@TestProfile(Profiles.MqttWithoutClientCertificate.class)
class MqttWithoutClientCertificateTest {
    @BeforeAll
    static void toolsInstalled() {
        String why = Mosquitto.unavailable() != null ? Mosquitto.unavailable() : TestPki.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    @Test
    void theBrokerRefusesTheNodeAndTheMqttCheckGoesDown() throws Exception {
        Await.modelLoaded();
        Await.until("the mqtt check DOWN", () -> Management.given().get("/q/health/well").statusCode() == 503);
        JsonPath health = Management.given().get("/q/health/well").then().statusCode(503).extract().jsonPath();
        assertEquals("DOWN", health.getString("checks.find { it.name == 'mqtt' }.status"));
        assertFalse(health.getBoolean("checks.find { it.name == 'mqtt' }.data.connected"));
        assertTrue(health.getInt("checks.find { it.name == 'mqtt' }.data.failed_cycles") >= 3, health.prettify());
        assertNotNull(health.getString("checks.find { it.name == 'mqtt' }.data.last_problem"), health.prettify());
        assertTrue(Management.metric("edgellm_mqtt_failed_connection_cycles_total") >= 3);
        Management.given().get("/q/health/ready").then().statusCode(200);
        assertFalse(given().get("/api/system").then().extract().jsonPath().getBoolean("mqtt.connected"));
    }
}
