package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Reference;
import dev.edgellm.service.testing.Sse;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Text completions on the real TinyStories model, with the backend chosen by calibration. */
@QuarkusTest
@TestProfile(Profiles.Stories.class)
class StoriesCompletionTest {

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }
    static final String PROMPT = "Once upon a time";
    static final int N = 48;
    static Generator.Result expected;

    @BeforeAll
    static void oracle() throws Exception {
        expected = Reference.text(Profiles.stories(), PROMPT, N);
    }

    @Test
    void completionEqualsTheEnginesGreedyOutput() {
        JsonPath r = given().contentType(ContentType.JSON)
                .body("{\"model\":\"stories260K\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + N + ",\"temperature\":0}")
                .post("/v1/completions").then().statusCode(200)
                .body("object", equalTo("text_completion")).body("id", startsWith("cmpl-")).extract().jsonPath();
        assertEquals(expected.text(), r.getString("choices[0].text"));
        assertTrue(expected.text().length() > 40, "real text: " + expected.text());
        assertEquals(expected.promptTokens(), r.getInt("usage.prompt_tokens"));
        assertEquals(expected.tokens().length, r.getInt("usage.completion_tokens"));
    }

    @Test
    void streamingAndTokenPromptsGiveTheSameText() throws Exception {
        String body = given().contentType(ContentType.JSON)
                .body("{\"prompt\":[\"" + PROMPT + "\"],\"max_tokens\":" + N + ",\"temperature\":0,\"stream\":true}")
                .post("/v1/completions").then().statusCode(200).extract().asString();
        List<JsonNode> events = Sse.events(body);
        assertEquals(expected.text(), Sse.text(events));
        assertEquals("text_completion", events.getFirst().path("object").asText());
        assertEquals(expected.tokens().length, events.getLast().path("usage").path("completion_tokens").asInt());

        // The same prompt as token ids (BOS included), as the tokenizer makes them.
        String ids = given().contentType(ContentType.JSON).body("{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":1,\"temperature\":0}")
                .post("/v1/completions").then().statusCode(200).extract().jsonPath().getString("usage.prompt_tokens");
        assertEquals(Integer.toString(expected.promptTokens()), ids);
    }

    @Test
    void chatIsRefusedForAModelWithoutAChatTemplate() {
        given().contentType(ContentType.JSON).body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").post("/v1/chat/completions")
                .then().statusCode(400).body("error.param", equalTo("messages"))
                .body("error.message", containsString("/v1/completions"));
    }

    @Test
    void theBackendWasChosenByMeasurement() {
        JsonPath s = given().get("/api/system").then().statusCode(200).extract().jsonPath();
        assertTrue(s.getString("calibration.reason").startsWith("fastest measured"), s.getString("calibration.reason"));
        assertEquals(false, s.getBoolean("calibration.forced"));
        assertTrue(s.getDouble("calibration.results.find { it.backend == 'scalar' }.us_per_matvec") > 0);
    }

    @Test
    void metricsCountTokensAndRequests() {
        given().contentType(ContentType.JSON).body("{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":4,\"temperature\":0}").post("/v1/completions")
                .then().statusCode(200);
        String m = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String name : List.of("edgellm_tokens_generated_total", "edgellm_tokens_prompt_total", "edgellm_time_to_first_token_seconds_count",
                "edgellm_generation_tokens_per_second_count", "edgellm_tokens_per_second", "edgellm_queue_depth", "edgellm_queue_capacity",
                "edgellm_memory_used_bytes", "edgellm_memory_limit_bytes", "edgellm_model_context_tokens")) {
            assertTrue(m.contains(name), name + " in /q/metrics");
        }
        String requests = Arrays.stream(m.split("\n")).filter(l -> l.startsWith("edgellm_requests_total")).collect(Collectors.joining("\n"));
        assertTrue(requests.contains("intake=\"http\"") && requests.contains("outcome=\"completed\""), requests);
    }
}
