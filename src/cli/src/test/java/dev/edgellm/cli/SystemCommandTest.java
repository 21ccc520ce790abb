package dev.edgellm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code edgellm system}: machine facts and every backend plugin's probe, as text and JSON. */
class SystemCommandTest {

    @Test
    void textListsMachineAndEveryBackend() {
        MainTest.Run r = MainTest.run("system");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cores"), r.out());
        assertTrue(r.out().contains("memory budget"), r.out());
        assertTrue(r.out().contains("scalar"), r.out());
        // the opencl plugin rides on the CLI's class path: usable or not, it reports itself
        assertTrue(r.out().contains("opencl"), r.out());
        assertFalse(r.out().contains("Exception"), r.out());
        assertTrue(r.err().isEmpty(), r.err());
    }

    @Test
    void jsonHasSystemAndBackends() throws Exception {
        MainTest.Run r = MainTest.run("system", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("system").get("cores").asInt() >= 1);
        assertTrue(j.get("system").has("memory_budget_bytes"));
        List<String> ids = new ArrayList<>();
        for (JsonNode b : j.get("backends")) {
            ids.add(b.get("id").asText());
            assertTrue(b.has("usable") && b.has("summary") && b.get("details").isObject(), b.toString());
        }
        assertTrue(ids.contains("scalar") && ids.contains("opencl"), ids.toString());
        JsonNode opencl = j.get("backends").get(ids.indexOf("opencl"));
        if (opencl.get("usable").asBoolean()) {
            assertTrue(opencl.get("details").has("device.0.name"), opencl.toString());
        }
    }

    @Test
    void rejectsArguments() {
        assertEquals(2, MainTest.run("system", "extra").code());
        assertEquals(2, MainTest.run("system", "--bogus").code());
    }
}
