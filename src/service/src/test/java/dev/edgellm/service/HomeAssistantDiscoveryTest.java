package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.HomeAssistantSchema;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.MqttResources;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestMqtt;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Home Assistant MQTT discovery against a real mosquitto (an external broker: discovery is on by
 * default): the node's retained sensor configs follow Home Assistant's schema and their templates
 * read the node's live retained status.
 */
@QuarkusTest
@TestProfile(Profiles.MqttMosquitto.class)
class HomeAssistantDiscoveryTest {
    static final String NODE = Profiles.MQTT_NODE;
    static final String STATUS = "edgellm/" + NODE + "/status";
    static final String CONFIGS = "homeassistant/sensor/edgellm_" + NODE + "/";
    static final int SENSORS = 8;
    static final Duration WAIT = Duration.ofSeconds(60);

    @BeforeAll
    static void mosquittoInstalled() {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    @Test
    void retainedConfigsFollowTheSchemaAndReadTheLiveStatus() throws Exception {
        Await.modelLoaded();
        HomeAssistantSchema schema = HomeAssistantSchema.load();
        try (TestMqtt first = TestMqtt.connect(MqttResources.port()).subscribe("homeassistant/#")) {
            first.awaitCount("the node's sensor configs", m -> m.topic().startsWith(CONFIGS) && m.payload().length > 0, SENSORS, WAIT);
        }
        // what Home Assistant finds when it (re)starts: the retained configs, and the retained status
        try (TestMqtt ha = TestMqtt.connect(MqttResources.port()).subscribe("homeassistant/#", STATUS)) {
            List<TestMqtt.Msg> configs = ha.awaitCount("the retained configs", m -> m.topic().startsWith(CONFIGS) && m.retained(), SENSORS, WAIT);
            JsonNode status = ha.await("the node's status, UP", m -> m.topic().equals(STATUS) && m.json().path("health").asText().equals("UP"), WAIT).json();
            Set<String> ids = new HashSet<>();
            JsonNode device = null;
            for (TestMqtt.Msg c : configs) {
                JsonNode p = c.json();
                assertEquals(List.of(), schema.problems(c.topic(), p), c.topic() + " " + c.text());
                assertTrue(ids.add(p.path("unique_id").asText()), "unique ids");
                assertEquals(STATUS, p.path("state_topic").asText());
                assertEquals(STATUS, p.path("availability").path(0).path("topic").asText(), "available as the last will says");
                assertEquals("online", schema.render(p.path("availability").path(0).path("value_template").asText(), status));
                if (device == null) {
                    device = p.path("device");
                }
                assertEquals(device, p.path("device"), "one device for all sensors");
                String value = schema.render(p.path("value_template").asText(), status);
                if (schema.numeric(p)) {
                    assertTrue(Double.parseDouble(value) >= 0, c.topic() + " renders a number: " + value);
                }
            }
            assertEquals(List.of("edgellm_" + NODE), List.of(device.path("identifiers").path(0).asText()));
            assertEquals("READY", value(schema, configs, "status", status));
            assertEquals("gemma3-tiny-q4_0", value(schema, configs, "model", status));
            assertEquals("scalar", value(schema, configs, "backend", status));
            assertTrue(Double.parseDouble(value(schema, configs, "memory_limit", status)) > 0);
        }
    }

    private static String value(HomeAssistantSchema schema, List<TestMqtt.Msg> configs, String sensor, JsonNode status) {
        TestMqtt.Msg c = configs.stream().filter(m -> m.topic().equals(CONFIGS + sensor + "/config")).findFirst().orElseThrow();
        return schema.render(c.json().path("value_template").asText(), status);
    }
}
