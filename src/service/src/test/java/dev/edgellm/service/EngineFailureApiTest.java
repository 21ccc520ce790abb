package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.FaultyEngine;
import dev.edgellm.service.testing.LogCapture;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.util.List;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Exception text stays in the server log: a generation that fails inside the engine
 * ({@link FaultyEngine}) and an exception no mapper knows are answered with a generic message and
 * an id (the request's job id, or an error id), and the log has the exception, text included,
 * under the same id.
 */
@QuarkusTest
@TestProfile(Profiles.FaultyEngine.class)
class EngineFailureApiTest {
    static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}";

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    static String idIn(String message, String pattern) {
        Matcher m = Pattern.compile(pattern).matcher(message);
        assertTrue(m.find(), "no id in: " + message);
        return m.group(1);
    }

    static void assertNoInternals(String body) {
        assertFalse(body.contains(FaultyEngine.SECRET), body);
        assertFalse(body.contains("secret-models") || body.contains("IllegalStateException") || body.contains("\tat "), body);
    }

    /** The log has an ERROR naming {@code id} with the exception and its text. */
    static void assertLoggedWithId(LogCapture log, String id) {
        List<LogCapture.Line> lines = log.lines().stream().filter(l -> l.level().intValue() >= Level.SEVERE.intValue()
                && l.message().contains(id)).toList();
        assertTrue(lines.stream().anyMatch(l -> l.thrownText().contains(FaultyEngine.SECRET)),
                "an ERROR with the exception under " + id + " in the log; got: " + log.lines());
    }

    @Test
    void aFailedGenerationAnswersAGenericMessageWithTheRequestIdAndTheLogHasTheText() {
        try (LogCapture log = LogCapture.start()) {
            String body = given().contentType(ContentType.JSON).body(CHAT).post("/v1/chat/completions").then().statusCode(500)
                    .contentType(ContentType.JSON).body("error.type", equalTo("server_error")).body("error.code", equalTo("engine_failure"))
                    .extract().asString();
            assertNoInternals(body);
            String message = given().contentType(ContentType.JSON).body(CHAT).post("/v1/chat/completions").then().statusCode(500)
                    .extract().jsonPath().getString("error.message");
            assertTrue(message.contains("the server log has the details"), message);
            assertLoggedWithId(log, idIn(message, "\\(request (\\S+);"));
        }
    }

    @Test
    void aFailedStreamEndsWithAGenericErrorEventWithTheRequestId() {
        try (LogCapture log = LogCapture.start()) {
            String sse = given().contentType(ContentType.JSON).body("{\"prompt\":\"Hi\",\"max_tokens\":2,\"stream\":true}").post("/v1/completions")
                    .then().statusCode(200).extract().asString();
            assertNoInternals(sse);
            assertTrue(sse.contains("\"engine_failure\"") && sse.contains("data: [DONE]"), sse);
            assertLoggedWithId(log, idIn(sse, "\\(request ([^;\\s]+);"));
        }
    }

    @Test
    void anOllamaClientGetsNoExceptionTextEither() {
        String body = given().contentType(ContentType.JSON).body("{\"model\":\"gemma3-tiny-q4_0\",\"prompt\":\"Hi\",\"stream\":false,\"options\":{\"num_predict\":2}}")
                .post("/api/generate").then().statusCode(500).extract().asString();
        assertNoInternals(body);
        assertTrue(body.contains("the server log has the details"), body);
    }

    @Test
    void anUnexpectedExceptionAnswersAnErrorIdThatTheLogHasWithTheText() {
        try (LogCapture log = LogCapture.start()) {
            String body = given().get("/test-faults/unexpected").then().statusCode(500).contentType(ContentType.JSON)
                    .body("error.type", equalTo("server_error")).extract().asString();
            assertNoInternals(body);
            String message = given().get("/test-faults/unexpected").then().statusCode(500).extract().jsonPath().getString("error.message");
            assertTrue(message.startsWith("internal error (error id "), message);
            assertLoggedWithId(log, idIn(message, "error id (err-[0-9a-z-]+)"));
        }
    }
}
