package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.mqtt.MqttRequest.Kind;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shape checks of MQTT requests, without a model: every problem names its code and field, and keeps the id and reply topic when it can. */
class MqttRequestParserTest {
    final MqttRequestParser parser = new MqttRequestParser(new ObjectMapper(), 1024);

    MqttRequest parse(String json) throws RequestError {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    RequestError error(String json) {
        return assertThrows(RequestError.class, () -> parse(json));
    }

    @Test
    void kindsAndTheirFields() throws Exception {
        MqttRequest g = parse("{\"id\":\"a\",\"prompt\":\"Hi\",\"max_tokens\":5,\"temperature\":0,\"seed\":7,\"stream\":true}");
        assertEquals(Kind.GENERATE, g.kind());
        assertEquals("Hi", g.prompt());
        assertEquals(5, g.sampling().maxTokens());
        assertEquals(0.0, g.sampling().temperature());
        assertEquals(7L, g.sampling().seed());
        assertTrue(g.stream());
        assertNull(g.replyTo());

        MqttRequest c = parse("{\"id\":\"b\",\"instructions\":\"Be brief.\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"reply_to\":\"x/y\"}");
        assertEquals(Kind.CHAT, c.kind(), "messages mean chat");
        assertEquals("system", c.messages().getFirst().role(), "instructions become the system message");
        assertEquals("Be brief.", c.messages().getFirst().content());
        assertEquals("x/y", c.replyTo());
        assertFalse(c.stream());

        MqttRequest s = parse("{\"id\":\"c\",\"records\":[{\"t\":1,\"v\":2.5,\"ok\":true,\"tags\":[\"a\"]}],\"text\":\"log\"}");
        assertEquals(Kind.SUMMARIZE, s.kind(), "records or text without a prompt mean summarize");
        assertEquals(List.of(Map.of("t", 1, "v", 2.5, "ok", true, "tags", List.of("a"))), s.records());
        assertEquals("log", s.text());
    }

    @Test
    void notJsonEmptyOrNotAnObject() {
        assertEquals(RequestError.INVALID_JSON, error("{\"id\":").code());
        assertEquals(RequestError.INVALID_JSON, error("").code());
        RequestError e = error("[1]");
        assertEquals(RequestError.INVALID_JSON, e.code());
        assertTrue(e.getMessage().contains("must be a JSON object, not an array"));
        assertNull(e.id());
    }

    @Test
    void idIsRequiredAndMustNameATopicLevel() {
        RequestError missing = error("{\"prompt\":\"Hi\",\"reply_to\":\"r/t\"}");
        assertEquals(RequestError.MISSING_ID, missing.code());
        assertEquals("r/t", missing.replyTo(), "the error still goes to the reply topic");
        assertEquals(RequestError.INVALID_ID, error("{\"id\":7,\"prompt\":\"Hi\"}").code());
        assertEquals(RequestError.INVALID_ID, error("{\"id\":\"a/b\",\"prompt\":\"Hi\"}").code());
        assertEquals(RequestError.INVALID_ID, error("{\"id\":\"a+\",\"prompt\":\"Hi\"}").code());
        assertEquals(RequestError.INVALID_ID, error("{\"id\":\"\",\"prompt\":\"Hi\"}").code());
        assertEquals(RequestError.INVALID_ID, error("{\"id\":\"" + "x".repeat(129) + "\",\"prompt\":\"Hi\"}").code());
    }

    @Test
    void replyToMustBeATopicToPublishTo() {
        for (String bad : new String[] {"\"a/+/b\"", "\"a/#\"", "\"\"", "\"$SYS/x\"", "5"}) {
            RequestError e = error("{\"id\":\"i\",\"prompt\":\"Hi\",\"reply_to\":" + bad + "}");
            assertEquals(RequestError.INVALID_REPLY_TO, e.code(), bad);
            assertEquals("i", e.id());
            assertNull(e.replyTo());
        }
    }

    @Test
    void unknownKindAndWrongFields() {
        RequestError k = error("{\"id\":\"i\",\"kind\":\"translate\",\"prompt\":\"Hi\"}");
        assertEquals(RequestError.UNKNOWN_KIND, k.code());
        assertEquals("kind", k.param());
        assertEquals("i", k.id());
        assertEquals("max_tokens", error("{\"id\":\"i\",\"prompt\":\"Hi\",\"max_tokens\":1.5}").param());
        assertEquals("temperature", error("{\"id\":\"i\",\"prompt\":\"Hi\",\"temperature\":\"hot\"}").param());
        assertEquals("stream", error("{\"id\":\"i\",\"prompt\":\"Hi\",\"stream\":\"yes\"}").param());
        assertEquals("prompt", error("{\"id\":\"i\",\"kind\":\"generate\"}").param());
        assertEquals("instructions", error("{\"id\":\"i\",\"prompt\":\"Hi\",\"instructions\":\"x\"}").param());
        assertEquals("messages", error("{\"id\":\"i\",\"kind\":\"chat\",\"messages\":[]}").param());
        assertEquals("messages[0].role", error("{\"id\":\"i\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}").param());
        assertEquals("messages[0].content", error("{\"id\":\"i\",\"messages\":[{\"role\":\"user\"}]}").param());
        assertEquals("text", error("{\"id\":\"i\",\"kind\":\"summarize\"}").param());
        assertEquals("records", error("{\"id\":\"i\",\"kind\":\"summarize\",\"records\":{\"a\":1}}").param());
        assertEquals("records[1]", error("{\"id\":\"i\",\"kind\":\"summarize\",\"records\":[{\"a\":1},2]}").param());
        for (String code : new String[] {
            error("{\"id\":\"i\",\"prompt\":\"Hi\",\"max_tokens\":1.5}").code(),
            error("{\"id\":\"i\",\"kind\":\"summarize\"}").code()}) {
            assertEquals(RequestError.INVALID_REQUEST, code);
        }
    }

    @Test
    void aPayloadOverTheLimitIsTooLargeButKeepsItsIdAndReplyTopic() {
        String big = "{\"stream\":{\"deep\":[1,2,{\"id\":\"inner\"}]},\"id\":\"big-1\",\"prompt\":\"" + "x".repeat(2000) + "\",\"reply_to\":\"r/big\"}";
        RequestError e = error(big);
        assertEquals(RequestError.TOO_LARGE, e.code());
        assertEquals("big-1", e.id(), "the top-level id, not one nested deeper");
        assertEquals("r/big", e.replyTo());
        assertTrue(e.getMessage().contains("1024"));
        RequestError junk = error("x".repeat(2000));
        assertEquals(RequestError.TOO_LARGE, junk.code());
        assertNull(junk.id());
        assertArrayEquals(new String[2], parser.peekEnvelope("{\"id\":\"a/b\"".getBytes(StandardCharsets.UTF_8)), "an id that cannot name a topic is not used");
    }

    @Test
    void topicsOfANode() {
        Topics t = new Topics("edgellm", "gw-1");
        assertEquals("edgellm/gw-1/requests", t.requests());
        assertEquals("edgellm/all/requests", t.fleetRequests());
        assertEquals("edgellm/gw-1/responses/r1", t.responses("r1"));
        assertEquals("edgellm/gw-1/errors", t.errors());
        assertEquals("edgellm/gw-1/status", t.status());
        assertEquals("x/y/stream", Topics.stream("x/y"));
        assertEquals("my_host_name", Topics.sanitizeLevel("my host/name"));
        assertEquals("gw-7", NodeId.resolve(java.util.Optional.of(" gw-7 ")));
        assertThrows(IllegalArgumentException.class, () -> NodeId.resolve(java.util.Optional.of("all")));
        assertFalse(NodeId.resolve(java.util.Optional.empty()).isEmpty(), "the host name by default");
    }
}
