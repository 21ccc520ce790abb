package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.testing.HomeAssistantSchema;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The discovery configs of a node, checked against Home Assistant's schema and rendered on a status document. */
class HomeAssistantConfigsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HomeAssistantSchema SCHEMA = HomeAssistantSchema.load();

    static final String STATUS = """
            {"node":"gw.7","status":"online","health":"UP","phase":"READY","reason":"serving m.gguf on vector","model":"gemma-3-1b-it-q4_0",
             "backend":"vector","context":2048,"memory_fit":{"fits":true,"summary":"fits"},"queue_depth":2,"queue_capacity":8,"queue_saturated":false,
             "busy":true,"tokens_per_second":21.57,"jobs_completed":42,"memory_used_bytes":734003200,"memory_limit_bytes":1342177280,
             "mqtt_waiting":0,"mqtt_in_flight":1,"time":"2026-12-02T10:00:00Z"}""";

    @Test
    void everyConfigFollowsTheSchemaAndReadsTheStatus() throws Exception {
        Topics topics = new Topics("edgellm", "Gw-7.b");
        List<HomeAssistantDiscovery.Config> configs = HomeAssistantDiscovery.configs("homeassistant", "Gw-7.b", topics, "0.1.0");
        assertEquals(HomeAssistantDiscovery.SENSORS.size(), configs.size());
        JsonNode status = JSON.readTree(STATUS);
        Set<String> ids = new HashSet<>();
        for (HomeAssistantDiscovery.Config c : configs) {
            JsonNode p = JSON.valueToTree(c.payload());
            assertEquals(List.of(), SCHEMA.problems(c.topic(), p), c.topic());
            assertTrue(c.topic().startsWith("homeassistant/sensor/edgellm_Gw-7_b/"), c.topic());
            assertTrue(ids.add(p.path("unique_id").asText()), "unique ids");
            assertTrue(p.path("object_id").asText().startsWith("edgellm_gw_7_b_"), p.path("object_id").asText());
            assertEquals("edgellm/Gw-7.b/status", p.path("state_topic").asText());
            assertEquals("online", SCHEMA.render(p.path("availability").path(0).path("value_template").asText(), status));
            String v = SCHEMA.render(p.path("value_template").asText(), status);
            if (SCHEMA.numeric(p)) {
                Double.parseDouble(v); // a number, as Home Assistant needs for a measurement
            }
        }
        assertEquals("READY", render(configs, "status", status));
        assertEquals("gemma-3-1b-it-q4_0", render(configs, "model", status));
        assertEquals("vector", render(configs, "backend", status));
        assertEquals("21.57", render(configs, "tokens_per_second", status));
        assertEquals("2", render(configs, "queue_depth", status));
        assertEquals("700.0", render(configs, "memory_used", status));
        assertEquals("1280.0", render(configs, "memory_limit", status));
        assertEquals("42", render(configs, "requests_completed", status));
        JsonNode attributes = JSON.readTree(SCHEMA.render(JSON.valueToTree(configs.getFirst().payload()).path("json_attributes_template").asText(), status));
        assertEquals("UP", attributes.path("health").asText());
    }

    @Test
    void aNodeWithoutAModelIsNoneNotBlank() throws Exception {
        List<HomeAssistantDiscovery.Config> configs = HomeAssistantDiscovery.configs("homeassistant", "n", new Topics("edgellm", "n"), "x");
        JsonNode failed = JSON.readTree("{\"status\":\"online\",\"phase\":\"FAILED\",\"model\":null,\"backend\":null,\"memory_used_bytes\":-1}");
        assertEquals("none", render(configs, "model", failed));
        assertEquals("none", render(configs, "backend", failed));
        assertEquals("FAILED", render(configs, "status", failed));
    }

    private static String render(List<HomeAssistantDiscovery.Config> configs, String key, JsonNode status) {
        HomeAssistantDiscovery.Config c = configs.stream().filter(x -> x.topic().endsWith("/" + key + "/config")).findFirst().orElseThrow();
        return SCHEMA.render((String) c.payload().get("value_template"), status);
    }
}
