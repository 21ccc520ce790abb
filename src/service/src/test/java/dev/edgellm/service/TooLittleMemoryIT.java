package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link TooLittleMemoryTest} against the packaged jar: health DOWN and 503 when the model does not fit the memory limit. */
@QuarkusIntegrationTest
@TestProfile(Profiles.TooLittleMemory.class)
class TooLittleMemoryIT extends TooLittleMemoryTest {
}
