package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link ApiSecurityTest} against the packaged jar. */
@QuarkusIntegrationTest
@TestProfile(Profiles.Secured.class)
class ApiSecurityIT extends ApiSecurityTest {
}
