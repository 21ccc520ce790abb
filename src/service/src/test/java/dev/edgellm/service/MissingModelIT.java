package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link MissingModelTest} against the packaged jar: health DOWN and 503 when the model file is missing. */
@QuarkusIntegrationTest
@TestProfile(Profiles.MissingModel.class)
class MissingModelIT extends MissingModelTest {
}
