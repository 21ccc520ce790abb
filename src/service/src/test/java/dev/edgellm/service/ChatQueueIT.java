package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link ChatQueueTest} against the packaged jar: a full queue answers 429, a disconnecting client cancels its generation. */
@QuarkusIntegrationTest
@TestProfile(Profiles.Gemma.class)
class ChatQueueIT extends ChatQueueTest {
}
