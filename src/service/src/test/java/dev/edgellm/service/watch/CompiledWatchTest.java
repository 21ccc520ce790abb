package dev.edgellm.service.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Extraction with JSONPath and topic levels, payloads that are not JSON, and trigger conditions. */
class CompiledWatchTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant NOW = Instant.parse("2026-01-01T10:00:00Z");

    static CompiledWatch watch(String extract, String condition) throws Exception {
        String json = "{\"topics\":[\"factory/+/+/telemetry\"],\"extract\":" + extract + ",\"window\":{\"time\":\"10s\"},\"publish_to\":\"out\""
                + (condition == null ? "" : ",\"trigger\":{\"condition\":\"" + condition + "\"}") + "}";
        return CompiledWatch.compile(new WatchSpecs(new WatchSpecs.Limits("edgellm", 400)).fromJson("w", JSON.readTree(json), "api"));
    }

    static CompiledWatch.Taken take(CompiledWatch w, String topic, String payload) {
        return w.take(topic, payload.getBytes(StandardCharsets.UTF_8), NOW);
    }

    @Test
    void fieldsComeFromJsonPathsAndTopicLevels() throws Exception {
        CompiledWatch w = watch("{\"temp\":\"$.temp_c\",\"first\":\"$.readings[0].v\",\"line\":\"topic[1]\",\"machine\":\"topic[2]\"}", null);
        WatchRecord r = take(w, "factory/line3/press7/telemetry", "{\"temp_c\":71.5,\"readings\":[{\"v\":3},{\"v\":4}]}").record();
        assertEquals(WatchRecord.Kind.JSON, r.kind());
        assertEquals(Map.of("temp", 71.5, "first", 3, "line", "line3", "machine", "press7"), r.fields());
        // a different shape: missing paths are absent, not errors
        WatchRecord other = take(w, "factory/line1/pump2/telemetry", "{\"state\":\"on\"}").record();
        assertEquals(Map.of("line", "line1", "machine", "pump2"), other.fields());
    }

    @Test
    void withoutExtractTheWholePayloadIsKept() throws Exception {
        WatchRecord r = take(watch("{}", null), "factory/a/b/telemetry", "{\"x\":1}").record();
        assertEquals(Map.of("payload", Map.of("x", 1)), r.fields());
    }

    @Test
    void textAndMalformedPayloadsAreKeptAndTold() throws Exception {
        CompiledWatch w = watch("{\"temp\":\"$.temp_c\",\"machine\":\"topic[2]\"}", "$.temp_c > 90");
        CompiledWatch.Taken text = take(w, "factory/l/p/telemetry", "restarted after power loss");
        assertEquals(WatchRecord.Kind.TEXT, text.record().kind());
        assertEquals(Map.of("machine", "p", "text", "restarted after power loss"), text.record().fields());
        assertFalse(text.fires());
        CompiledWatch.Taken broken = take(w, "factory/l/p/telemetry", "{\"temp_c\": 9");
        assertEquals(WatchRecord.Kind.MALFORMED, broken.record().kind());
        assertEquals("{\"temp_c\": 9", broken.record().fields().get("malformed"));
        WatchRecord binary = w.take("factory/l/p/telemetry", new byte[] {(byte) 0xff, 0, 1}, NOW).record();
        assertEquals(WatchRecord.Kind.MALFORMED, binary.kind());
        assertEquals(WatchRecord.Kind.MALFORMED, take(w, "factory/l/p/telemetry", "{\"a\":1} trailing").record().kind());
    }

    @Test
    void conditions() throws Exception {
        CompiledWatch hot = watch("{\"temp\":\"$.temp_c\"}", "$.temp_c > 90");
        assertTrue(take(hot, "factory/l/p/telemetry", "{\"temp_c\":90.5}").fires());
        assertFalse(take(hot, "factory/l/p/telemetry", "{\"temp_c\":90}").fires());
        assertFalse(take(hot, "factory/l/p/telemetry", "{\"temp_c\":\"hot\"}").fires());
        assertFalse(take(hot, "factory/l/p/telemetry", "{}").fires());
        CompiledWatch alarm = watch("{}", "$.alarm exists || $.t >= 100 && topic[2] == 'press7'");
        assertTrue(take(alarm, "factory/l/p/telemetry", "{\"alarm\":null}").fires());
        assertFalse(take(alarm, "factory/l/p/telemetry", "{\"alarms\":1}").fires());
        CompiledWatch both = watch("{\"temp\":\"$.t\"}", "$.alarm exists || temp >= 100 && topic[2] == 'press7'");
        assertTrue(take(both, "factory/l/press7/telemetry", "{\"t\":100}").fires());
        assertFalse(take(both, "factory/l/press8/telemetry", "{\"t\":100}").fires());
        CompiledWatch any = watch("{}", "$.readings[*].v > 5");
        assertTrue(take(any, "factory/l/p/telemetry", "{\"readings\":[{\"v\":1},{\"v\":6}]}").fires());
        assertFalse(take(any, "factory/l/p/telemetry", "{\"readings\":[{\"v\":1}]}").fires());
    }
}
