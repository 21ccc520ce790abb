package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link StoriesCompletionTest} against the packaged jar: text completions on TinyStories, metrics. */
@QuarkusIntegrationTest
@TestProfile(Profiles.Stories.class)
class StoriesCompletionIT extends StoriesCompletionTest {
}
