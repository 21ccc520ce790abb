package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link ChatCompletionTest} against the packaged jar: chat completion equal to the engine's greedy output, streaming, stop strings, system and fit reports. */
@QuarkusIntegrationTest
@TestProfile(Profiles.Gemma.class)
class ChatCompletionIT extends ChatCompletionTest {
}
