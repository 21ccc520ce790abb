package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link HomeAssistantDiscoveryTest} against the packaged jar. */
@QuarkusIntegrationTest
@TestProfile(Profiles.MqttMosquitto.class)
class HomeAssistantDiscoveryIT extends HomeAssistantDiscoveryTest {
}
