package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link MqttMosquittoTest} against the packaged jar. */
@QuarkusIntegrationTest
@TestProfile(Profiles.MqttMosquitto.class)
class MqttMosquittoIT extends MqttMosquittoTest {
}
