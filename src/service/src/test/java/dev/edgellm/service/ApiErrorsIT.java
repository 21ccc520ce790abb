package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link ApiErrorsTest} against the packaged jar: OpenAI-style errors for bad JSON, invalid fields, oversize prompts and bodies. */
@QuarkusIntegrationTest
@TestProfile(Profiles.Gemma.class)
class ApiErrorsIT extends ApiErrorsTest {
}
