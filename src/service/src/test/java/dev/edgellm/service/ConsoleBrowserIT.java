package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link ConsoleBrowserTest} against the packaged jar (its screenshot is the README's). */
@QuarkusIntegrationTest
@TestProfile(Profiles.Console.class)
class ConsoleBrowserIT extends ConsoleBrowserTest {
}
