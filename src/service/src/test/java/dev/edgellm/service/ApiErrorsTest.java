package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Bad requests get OpenAI-style errors: {"error":{"message","type","param","code"}}. */
@QuarkusTest
@TestProfile(Profiles.Gemma.class)
class ApiErrorsTest {

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    static ValidatableResponse chat(String json) {
        return given().contentType(ContentType.JSON).body(json).post("/v1/chat/completions").then();
    }

    static ValidatableResponse invalid(ValidatableResponse r, String param) {
        return r.statusCode(400).contentType(ContentType.JSON)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.param", param == null ? nullValue() : equalTo(param));
    }

    @Test
    void badJsonIs400() {
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}"), null)
                .body("error.code", equalTo("invalid_json")).body("error.message", containsString("not valid JSON"));
        invalid(chat("not json at all"), null).body("error.code", equalTo("invalid_json"));
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":\"many\"}"), "max_tokens")
                .body("error.code", equalTo("invalid_json"));
    }

    @Test
    void invalidFieldsAre400NamingTheField() {
        invalid(chat("{}"), "messages");
        invalid(chat("{\"messages\":[]}"), "messages");
        invalid(chat("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}"), "messages[0].role");
        invalid(chat("{\"messages\":[{\"role\":\"user\"}]}"), "messages[0].content");
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"n\":2}"), "n");
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"temperature\":3}"), "temperature");
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"top_p\":0}"), "top_p");
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":0}"), "max_tokens");
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"presence_penalty\":0.5}"), "presence_penalty")
                .body("error.message", containsString("repeat_penalty"));
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}"), "stop");
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stop\":42}"), "stop");
    }

    @Test
    void maxTokensAboveTheLimitIs400() {
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":401}"), "max_tokens")
                .body("error.message", containsString("edgellm.limits.max-tokens"));
    }

    @Test
    void oversizePromptIs400() {
        String longText = "word ".repeat(400);
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"" + longText + "\"}]}"), "messages")
                .body("error.code", equalTo("prompt_too_long"))
                .body("error.message", containsString("edgellm.limits.max-prompt-tokens"));
    }

    @Test
    void oversizeBodyIs413() {
        String huge = "x".repeat(80 * 1024);
        chat("{\"messages\":[{\"role\":\"user\",\"content\":\"" + huge + "\"}]}").statusCode(413).contentType(ContentType.JSON)
                .body("error.code", equalTo("request_too_large"))
                .body("error.message", containsString("quarkus.http.limits.max-body-size"));
    }

    @Test
    void wrongMediaTypeAndMethodAreOpenAiErrorsToo() {
        given().contentType(ContentType.TEXT).body("hello").post("/v1/chat/completions").then().statusCode(415)
                .body("error.code", equalTo("unsupported_media_type"));
        given().get("/v1/chat/completions").then().statusCode(405).body("error.type", equalTo("invalid_request_error"));
    }

    @Test
    void completionPromptErrors() {
        given().contentType(ContentType.JSON).body("{\"prompt\":[1,2,999999999]}").post("/v1/completions").then().statusCode(400)
                .body("error.param", equalTo("prompt"));
        given().contentType(ContentType.JSON).body("{\"prompt\":\"Hi\",\"echo\":true}").post("/v1/completions").then().statusCode(400)
                .body("error.param", equalTo("echo"));
        given().contentType(ContentType.JSON).body("{\"max_tokens\":3}").post("/v1/completions").then().statusCode(400)
                .body("error.param", equalTo("prompt"));
    }

    /** Text that cannot be a prompt of max-prompt-tokens is refused by its size, before the tokenizer sees it. */
    @Test
    void aPromptOverTheByteLimitIsRefusedBeforeTokenizing() {
        // the test profile: 200 prompt tokens, so 3200 bytes at most
        String text = "abcd ".repeat(800);
        invalid(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}"), "messages")
                .body("error.code", equalTo("prompt_too_long"))
                .body("error.message", containsString("edgellm.limits.max-prompt-bytes"));
        given().contentType(ContentType.JSON).body("{\"prompt\":\"" + text + "\"}").post("/v1/completions").then().statusCode(400)
                .body("error.code", equalTo("prompt_too_long")).body("error.message", containsString("bytes of text"));
        StringBuilder ids = new StringBuilder("[1");
        for (int i = 0; i < 300; i++) {
            ids.append(",2");
        }
        given().contentType(ContentType.JSON).body("{\"prompt\":" + ids + "]}").post("/v1/completions").then().statusCode(400)
                .body("error.code", equalTo("prompt_too_long"));
    }

    @Test
    void stopStringsAreCappedEachAndTogether() {
        String hi = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1,\"stop\":%s}";
        invalid(chat(hi.formatted("[\"" + "x".repeat(257) + "\"]")), "stop").body("error.message", containsString("edgellm.limits.max-stop-bytes"));
        String s200 = "\"" + "y".repeat(200) + "\"";
        invalid(chat(hi.formatted("[" + s200 + "," + s200.replace('y', 'z') + "," + s200.replace('y', 'w') + "]")), "stop")
                .body("error.message", containsString("edgellm.limits.max-stop-total-bytes"));
        chat(hi.formatted("[\"" + "é".repeat(128) + "\"]")).statusCode(200); // 256 bytes in UTF-8
    }

    /** top_k beyond the vocabulary is taken as "all tokens" (the sampler selects in O(vocab log k) either way). */
    @Test
    void topKAtOrAboveTheVocabularyIsAccepted() {
        for (int k : new int[] {262_143, 262_144, 2_000_000_000}) {
            chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,\"temperature\":1,\"top_p\":1,\"min_p\":0,\"seed\":3,\"top_k\":"
                    + k + "}").statusCode(200).body("usage.completion_tokens", org.hamcrest.Matchers.lessThanOrEqualTo(4));
        }
    }

    /**
     * The size limit is checked on Content-Length before anything is read; a chunked body has
     * none (and RESTEasy would buffer it whole past the limit), so the API requires a length: 411.
     */
    @Test
    void aChunkedBodyIsRefusedWithLengthRequired() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", io.restassured.RestAssured.port)) {
            s.setSoTimeout(30_000);
            java.io.OutputStream out = s.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            byte[] chunk = "x".repeat(16 * 1024).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            try {
                for (int i = 0; i < 8; i++) {
                    out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    out.write(chunk);
                    out.write("\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                out.flush();
            } catch (java.io.IOException e) {
                // the server may close the connection while the rest is still being sent
            }
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), java.nio.charset.StandardCharsets.UTF_8)).readLine();
            org.junit.jupiter.api.Assertions.assertEquals("HTTP/1.1 411 Length Required", status);
        }
        chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1}").statusCode(200);
    }

    /** Nothing the log captured carries a stack trace or an exception's name. */
    static void assertNoStackTrace(dev.edgellm.service.testing.LogCapture log) {
        for (dev.edgellm.service.testing.LogCapture.Line l : log.lines()) {
            org.junit.jupiter.api.Assertions.assertNull(l.thrown(), () -> "a stack trace in the log: " + l + "\n" + l.thrownText());
            org.junit.jupiter.api.Assertions.assertFalse(l.level().intValue() >= java.util.logging.Level.WARNING.intValue()
                    && l.message().contains("Exception"), () -> "an exception in the log: " + l);
        }
    }

    /** A body over the limit is refused by its length, before it is read, and is no error of the server's: no stack trace. */
    @Test
    void anOversizeBodyLogsNoStackTrace() throws Exception {
        try (dev.edgellm.service.testing.LogCapture log = dev.edgellm.service.testing.LogCapture.start()) {
            String huge = "x".repeat(80 * 1024);
            for (String path : new String[] {"/v1/chat/completions", "/v1/completions", "/api/chat"}) {
                given().contentType(ContentType.JSON).body("{\"messages\":[{\"role\":\"user\",\"content\":\"" + huge + "\"}]}").post(path)
                        .then().statusCode(413);
            }
            chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1}").statusCode(200);
            assertNoStackTrace(log);
        }
    }

    /**
     * A client that announces a body and goes away halfway (or a proxy that cuts it off) leaves the
     * server a body it cannot read: that is the client's doing, at most a line at debug level, and
     * no stack trace.
     */
    @Test
    void aBodyCutOffHalfwayLogsNoStackTrace() throws Exception {
        try (dev.edgellm.service.testing.LogCapture log = dev.edgellm.service.testing.LogCapture.start()) {
            for (String path : new String[] {"/v1/chat/completions", "/api/chat"}) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", io.restassured.RestAssured.port)) {
                    java.io.OutputStream out = s.getOutputStream();
                    out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 20000\r\n\r\n"
                            + "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(4000)).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(300); // the server is reading the body
                }
            }
            Thread.sleep(1000); // whatever the server logs about it, it has logged
            chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":1}").statusCode(200);
            assertNoStackTrace(log);
        }
    }
}
