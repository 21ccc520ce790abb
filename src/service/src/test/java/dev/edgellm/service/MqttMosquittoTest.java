package dev.edgellm.service;

import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/** The MQTT intake against a real mosquitto, started on a free port for this application. */
@QuarkusTest
@TestProfile(Profiles.MqttMosquitto.class)
class MqttMosquittoTest extends MqttIntakeContract {
    @BeforeAll
    static void mosquittoInstalled() {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }
}
