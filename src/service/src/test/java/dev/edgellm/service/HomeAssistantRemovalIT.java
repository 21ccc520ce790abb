package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.PackagedApp;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestMqtt;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Removing a node from Home Assistant: the packaged service announces its sensors on a real
 * mosquitto, then starts again with {@code edgellm.mqtt.discovery.enabled=false} and clears every
 * retained config with an empty retained message, so a new subscriber (Home Assistant after a
 * restart) finds none. Writes what {@code mosquitto_sub -t 'homeassistant/#' -v} shows for the
 * node to {@code target/homeassistant-discovery.txt} (the README's example).
 */
class HomeAssistantRemovalIT {
    static final String NODE = "ha-gateway";
    static final String CONFIGS = "homeassistant/sensor/edgellm_" + NODE + "/";
    static final Duration WAIT = Duration.ofSeconds(90);

    @Test
    void disablingDiscoveryPublishesEmptyRetainedConfigs() throws Exception {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
        try (Mosquitto broker = Mosquitto.start(); TestMqtt watcher = TestMqtt.connect(broker.port()).subscribe("homeassistant/#")) {
            List<TestMqtt.Msg> announced;
            try (PackagedApp app = PackagedApp.start("ha-announce", List.of(), settings(broker.port(), null))) {
                announced = watcher.awaitCount("the node's sensor configs", m -> m.topic().startsWith(CONFIGS) && m.payload().length > 0, 8, WAIT);
            }
            Files.writeString(Path.of("target", "homeassistant-discovery.txt"),
                    announced.stream().map(m -> m.topic() + " " + m.text()).collect(Collectors.joining("\n", "", "\n")), StandardCharsets.UTF_8);
            try (TestMqtt late = TestMqtt.connect(broker.port()).subscribe("homeassistant/#")) {
                late.awaitCount("the retained configs, for a subscriber that comes later", m -> m.topic().startsWith(CONFIGS) && m.retained(), 8, WAIT);
            }

            long removing = System.nanoTime();
            try (PackagedApp app = PackagedApp.start("ha-remove", List.of(), settings(broker.port(), "false"))) {
                List<TestMqtt.Msg> cleared = watcher.awaitCount("an empty config for every sensor",
                        m -> m.topic().startsWith(CONFIGS) && m.payload().length == 0 && m.receivedNanos() > removing, 8, WAIT);
                List<String> topics = new ArrayList<>(announced.stream().map(TestMqtt.Msg::topic).sorted().toList());
                assertEquals(topics, cleared.stream().map(TestMqtt.Msg::topic).sorted().toList(), "the same topics, cleared");
                assertTrue(app.awaitLog("removed the 8 retained configs", 30), "logged");
            }
            try (TestMqtt after = TestMqtt.connect(broker.port()).subscribe("homeassistant/#")) {
                Thread.sleep(1500);
                assertEquals(List.of(), after.all(m -> m.topic().startsWith(CONFIGS)).stream().map(TestMqtt.Msg::topic).toList(),
                        "no retained config is left for Home Assistant to find");
            }
        }
    }

    private static List<String> settings(int brokerPort, String discovery) throws Exception {
        List<String> s = new ArrayList<>(List.of("-Dedgellm.model.path=" + Profiles.gemma(), "-Dedgellm.backend=scalar", "-Dedgellm.threads=2",
                "-Dedgellm.context=512", "-Dquarkus.http.port=0", "-Dquarkus.management.port=0",
                "-Dedgellm.mqtt.host=127.0.0.1", "-Dedgellm.mqtt.port=" + brokerPort, "-Dedgellm.node-id=" + NODE,
                "-Dedgellm.mqtt.state-dir=" + Files.createTempDirectory("edgellm-ha-test")));
        if (discovery != null) {
            s.add("-Dedgellm.mqtt.discovery.enabled=" + discovery);
        }
        return s;
    }
}
