package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.testing.PackagedApp;
import dev.edgellm.service.testing.Profiles;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The packaged service on an address reachable from the network: without API keys it refuses to
 * start (unless told to serve unauthenticated, which it logs as a warning), and its embedded MQTT
 * broker refuses anonymous clients anywhere but loopback.
 */
class ExposedStartupIT {
    static List<String> base(String... more) {
        List<String> s = new java.util.ArrayList<>(List.of("-Dedgellm.model.path=" + Profiles.stories(), "-Dedgellm.backend=scalar",
                "-Dquarkus.http.port=0", "-Dquarkus.management.port=0", "-Dedgellm.mqtt.enabled=false"));
        s.addAll(List.of(more));
        return s;
    }

    @Test
    void withoutKeysOnAReachableAddressItRefusesToStart() throws Exception {
        try (PackagedApp app = PackagedApp.start("exposed-no-keys", List.of(), base("-Dquarkus.http.host=0.0.0.0"))) {
            assertTrue(app.process().waitFor(90, TimeUnit.SECONDS), "it stops by itself");
            assertNotEquals(0, app.process().exitValue());
            assertTrue(app.log().contains("refusing to serve the REST API on 0.0.0.0 without API keys"), app.log());
            assertFalse(app.log().contains("Listening on"), "it never served");
        }
    }

    @Test
    void explicitlyUnauthenticatedItStartsAndWarns() throws Exception {
        try (PackagedApp app = PackagedApp.start("exposed-allowed", List.of(), base("-Dquarkus.http.host=0.0.0.0",
                "-Dedgellm.api.allow-unauthenticated=true"))) {
            assertTrue(app.awaitLog("Listening on", 90), app.log());
            assertTrue(app.log().contains("WITHOUT API keys (edgellm.api.allow-unauthenticated=true)"), app.log());
            assertTrue(app.process().isAlive());
        }
    }

    @Test
    void withKeysOnAReachableAddressItStarts() throws Exception {
        try (PackagedApp app = PackagedApp.start("exposed-keys", List.of(), base("-Dquarkus.http.host=0.0.0.0",
                "-Dedgellm.api.keys=" + Profiles.API_KEY))) {
            assertTrue(app.awaitLog("Listening on", 90), app.log());
            assertTrue(app.log().contains("1 API key(s) required"), app.log());
        }
    }

    @Test
    void theEmbeddedBrokerOffLoopbackNeedsAPasswordFile() throws Exception {
        List<String> s = base("-Dedgellm.mqtt.enabled=true", "-Dedgellm.mqtt.embedded.host=0.0.0.0", "-Dedgellm.mqtt.port=0",
                "-Dedgellm.node-id=exposed", "-Dedgellm.mqtt.state-dir=" + java.nio.file.Files.createTempDirectory("edgellm-exposed"));
        s.remove("-Dedgellm.mqtt.enabled=false");
        try (PackagedApp app = PackagedApp.start("exposed-broker", List.of(), s)) {
            assertTrue(app.process().waitFor(90, TimeUnit.SECONDS), "it stops by itself");
            assertNotEquals(0, app.process().exitValue());
            assertTrue(app.log().contains("refusing to start the embedded MQTT broker on 0.0.0.0 without edgellm.mqtt.embedded.password-file"), app.log());
        }
    }
}
