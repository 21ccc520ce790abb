package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Who has room for handed-back pool work: same group, the model the topic asks for, said so recently, online, not this node. */
class FleetLoadTest {
    final ResponseCacheTest.TestClock clock = new ResponseCacheTest.TestClock();
    final FleetLoad fleet = new FleetLoad(new ObjectMapper(), new Topics("edgellm", "gw-1"), "edgellm", Duration.ofSeconds(60), clock);

    void status(String node, String json) {
        fleet.onStatus("edgellm/" + node + "/status", json.getBytes(StandardCharsets.UTF_8));
    }

    static String online(String model, String group, boolean free) {
        return "{\"status\":\"online\",\"model\":\"" + model + "\",\"pool\":{\"group\":\"" + group + "\",\"joined\":true,\"free\":" + free + "}}";
    }

    @Test
    void aFreeMemberOfTheGroupServingTheModelHasRoom() {
        assertFalse(fleet.anotherHasRoom("edgellm/pool/requests"), "nobody known");
        status("gw-2", online("gemma-3-1b", "edgellm", false));
        assertFalse(fleet.anotherHasRoom("edgellm/pool/requests"), "busy");
        status("gw-3", online("gemma-3-1b", "other-site", true));
        assertFalse(fleet.anotherHasRoom("edgellm/pool/requests"), "another group");
        status("gw-1", online("gemma-3-1b", "edgellm", true));
        assertFalse(fleet.anotherHasRoom("edgellm/pool/requests"), "this node itself");
        status("gw-2", online("gemma-3-1b", "edgellm", true));
        assertTrue(fleet.anotherHasRoom("edgellm/pool/requests"));
        assertTrue(fleet.anotherHasRoom("edgellm/pool/gemma-3-1b/requests"));
        assertFalse(fleet.anotherHasRoom("edgellm/pool/stories260K/requests"), "it serves another model");
    }

    @Test
    void aStaleStatusOrALastWillTakesAMemberOut() {
        status("gw-2", online("m", "edgellm", true));
        assertTrue(fleet.anotherHasRoom("edgellm/pool/requests"));
        clock.now = clock.now.plusSeconds(61);
        assertFalse(fleet.anotherHasRoom("edgellm/pool/requests"), "it stopped publishing");
        status("gw-2", online("m", "edgellm", true));
        assertTrue(fleet.anotherHasRoom("edgellm/pool/requests"));
        status("gw-2", "{\"node\":\"gw-2\",\"status\":\"offline\",\"reason\":\"connection lost\"}");
        assertFalse(fleet.anotherHasRoom("edgellm/pool/requests"));
        status("gw-2", "garbage");
        assertEquals(0, fleet.known());
    }

    @Test
    void theModelOfAPoolTopic() {
        assertNull(fleet.modelOf("edgellm/pool/requests"));
        assertEquals("gemma3-tiny-q4_0", fleet.modelOf("edgellm/pool/gemma3-tiny-q4_0/requests"));
    }
}
