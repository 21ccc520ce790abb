package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link MqttEmbeddedTest} against the packaged jar: what {@code ./edgellm serve} runs on a bare machine. */
@QuarkusIntegrationTest
@TestProfile(Profiles.MqttEmbedded.class)
class MqttEmbeddedIT extends MqttEmbeddedTest {
}
