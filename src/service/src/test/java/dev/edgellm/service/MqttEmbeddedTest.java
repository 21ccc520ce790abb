package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** The MQTT intake with no broker configured: the service's own embedded broker. */
@QuarkusTest
@TestProfile(Profiles.MqttEmbedded.class)
class MqttEmbeddedTest extends MqttIntakeContract {
    @Override
    boolean flagsRetained() {
        return false; // Moquette sends the retained status to a QoS 1 subscriber without the flag
    }
}
