package dev.edgellm.service.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Watch definitions from JSON: defaults, and every bad field refused by name. */
class WatchSpecsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    final WatchSpecs specs = new WatchSpecs(new WatchSpecs.Limits("edgellm", 400));

    WatchSpec parse(String json) throws Exception {
        return specs.fromJson("site", JSON.readTree(json), "api");
    }

    String badField(String json) {
        return assertThrows(InvalidWatchException.class, () -> parse(json)).field();
    }

    @Test
    void aFullWatchAndItsDefaults() throws Exception {
        WatchSpec s = parse("""
                {"topics":["site/+/telemetry"],"extract":{"temp":"$.temp_c","device":"topic[1]"},"window":{"time":"5s","count":500},
                 "trigger":{"condition":"$.temp_c > 90"},"publish_to":"site/summary"}""");
        assertEquals(Duration.ofSeconds(5), s.windowTime());
        assertEquals(500, s.windowCount());
        assertEquals(WatchSpecs.DEFAULT_MAX_BYTES, s.maxBytes());
        assertTrue(s.schedule());
        assertEquals(WatchSpecs.DEFAULT_MAX_TOKENS, s.maxTokens());
        assertEquals("$.temp_c > 90", s.condition());
        assertEquals("5s", s.toMap().get("window") instanceof java.util.Map<?, ?> w ? w.get("time") : null);
        // kebab-case as a YAML file writes it
        WatchSpec k = parse("{\"topics\":\"a/b\",\"window\":{\"time\":\"1m\",\"max-bytes\":\"64K\"},\"publish-to\":\"out/x\",\"max-tokens\":32}");
        assertEquals(65536, k.maxBytes());
        assertEquals(32, k.maxTokens());
    }

    @Test
    void badInputNamesTheField() {
        assertEquals("extract.temp", badField("{\"topics\":[\"a/b\"],\"extract\":{\"temp\":\"$.[[x\"},\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("extract.temp", badField("{\"topics\":[\"a/b\"],\"extract\":{\"temp\":\"temp_c\"},\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("topics[1]", badField("{\"topics\":[\"a/b\",\"a/#/c\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("topics[0]", badField("{\"topics\":[\"a+/b\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("topics[0]", badField("{\"topics\":[\"#\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("topics[0]", badField("{\"topics\":[\"edgellm/+/requests\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("colour", badField("{\"topics\":[\"a/b\"],\"colour\":1,\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("window.length", badField("{\"topics\":[\"a/b\"],\"window\":{\"length\":\"5s\"},\"publish_to\":\"o\"}"));
        assertEquals("window", badField("{\"topics\":[\"a/b\"],\"publish_to\":\"o\"}"));
        assertEquals("window.time", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"soon\"},\"publish_to\":\"o\"}"));
        assertEquals("trigger.condition", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"trigger\":{\"condition\":\"$.t ~ 3\"},\"publish_to\":\"o\"}"));
        assertEquals("trigger.condition", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"trigger\":{\"condition\":\"nofield > 3\"},\"publish_to\":\"o\"}"));
        assertEquals("trigger", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"trigger\":{\"schedule\":false},\"publish_to\":\"o\"}"));
        assertEquals("publish_to", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"}}"));
        assertEquals("publish_to", badField("{\"topics\":[\"a/+\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"a/summary\"}"));
        assertEquals("publish_to", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"a/#\"}"));
        assertEquals("max_tokens", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\",\"max_tokens\":401}"));
        assertEquals("temperature", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\",\"temperature\":\"hot\"}"));
        assertEquals("template", badField("{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\",\"template\":\"{{text}} {{colour}}\"}"));
        assertEquals("name", assertThrows(InvalidWatchException.class, () -> specs.fromJson("bad name", JSON.readTree(
                "{\"topics\":[\"a/b\"],\"window\":{\"time\":\"5s\"},\"publish_to\":\"o\"}"), "api")).field());
    }
}
