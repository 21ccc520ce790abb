package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link OllamaApiTest} against the packaged jar. */
@QuarkusIntegrationTest
@TestProfile(Profiles.Gemma.class)
class OllamaApiIT extends OllamaApiTest {
}
