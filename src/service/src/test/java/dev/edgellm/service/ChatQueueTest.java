package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Sse;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The queue (one waiting place in the test profile) and client disconnects, over HTTP only so the
 * packaged jar runs the same tests ({@link ChatQueueIT}). A long generation (ignore_eos, 300 tokens of
 * the tiny Gemma on the scalar backend: many seconds) keeps the engine busy until its client hangs up.
 */
@QuarkusTest
@TestProfile(Profiles.Gemma.class)
class ChatQueueTest {

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }
    static final String LONG = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell a long story.\"}],\"max_tokens\":300,"
            + "\"ignore_eos\":true,\"temperature\":0,\"stream\":true}";

    static int engineInt(String field) {
        return given().get("/api/system").then().statusCode(200).extract().jsonPath().getInt("engine." + field);
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        Await.until(what, condition);
    }

    @Test
    void aFullQueueAnswers429WithRetryAfterWhileReadinessStaysUp() throws Exception {
        int cancelledBefore = engineInt("jobs_cancelled");
        try (Sse.RawStream running = new Sse.RawStream(RestAssured.port, "/v1/chat/completions", LONG)) {
            assertEquals("HTTP/1.1 200 OK", running.status());
            running.nextContentEvent(); // the engine is generating for this client now
            try (Sse.RawStream waiting = new Sse.RawStream(RestAssured.port, "/v1/chat/completions", LONG)) {
                assertEquals("HTTP/1.1 200 OK", waiting.status());
                await("the second request to wait in the queue", () -> engineInt("queue_depth") == 1);
                given().contentType(ContentType.JSON).body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                        .post("/v1/chat/completions").then().statusCode(429)
                        .header("Retry-After", "3")
                        .body("error.type", equalTo("rate_limit_error"))
                        .body("error.code", equalTo("queue_full"));
                // busy is not "cannot serve": the node keeps its Service endpoint and clients get 429 + Retry-After
                Management.given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                        .body("checks[0].data.queue", equalTo("1/1 (full)"));
                Management.given().get("/q/health/live").then().statusCode(200);
            }
        }
        // Both clients hung up: their jobs are cancelled and the engine is free again.
        await("both jobs to be cancelled", () -> engineInt("jobs_cancelled") >= cancelledBefore + 2);
        await("the engine to be idle", () -> !given().get("/api/system").then().extract().jsonPath().getBoolean("engine.busy"));
        Management.given().get("/q/health/ready").then().statusCode(200);
        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("outcome=\"queue_full\""), "queue_full counted");
        assertTrue(metrics.contains("outcome=\"cancelled\""), "cancellations counted");
    }

    @Test
    void aClientThatDisconnectsCancelsItsGeneration() throws Exception {
        int cancelledBefore = engineInt("jobs_cancelled");
        try (Sse.RawStream s = new Sse.RawStream(RestAssured.port, "/v1/chat/completions", LONG)) {
            assertEquals("HTTP/1.1 200 OK", s.status());
            s.nextContentEvent();
        }
        // Counted as cancelled, not completed: the engine stopped before the 300 tokens.
        await("the job to be cancelled", () -> engineInt("jobs_cancelled") == cancelledBefore + 1);
        await("the engine to be idle", () -> !given().get("/api/system").then().extract().jsonPath().getBoolean("engine.busy"));
    }
}
