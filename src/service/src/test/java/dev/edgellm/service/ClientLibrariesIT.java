package dev.edgellm.service;

import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.quarkus.test.junit.TestProfile;

/** {@link ClientLibrariesTest} against the packaged jar: the OpenAI Java SDK and LangChain4j (OpenAI, Ollama) as a gateway's services use them. */
@QuarkusIntegrationTest
@TestProfile(Profiles.Gemma.class)
class ClientLibrariesIT extends ClientLibrariesTest {
}
