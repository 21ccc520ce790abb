package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link ChatTemplateFromFileTest} against the packaged jar: Jinjava and the chat module are in it, raise_exception is a 400. */
@QuarkusIntegrationTest
@TestProfile(Profiles.RaisingTemplate.class)
class ChatTemplateFromFileIT extends ChatTemplateFromFileTest {
}
