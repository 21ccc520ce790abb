package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.engine.ChatMessage;
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
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Chat completions on the shared Gemma 3 tiny model equal the engine's own greedy output. */
@QuarkusTest
@TestProfile(Profiles.Gemma.class)
class ChatCompletionTest {

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }
    static final int N = 8;
    static final String BODY = """
            {"model":"gemma3-tiny-q4_0","messages":[{"role":"system","content":"You are terse."},
             {"role":"user","content":"Name a colour."}],"temperature":0,"max_tokens":%d%s}""";
    static Generator.Result expected;

    @BeforeAll
    static void oracle() throws Exception {
        expected = Reference.chat(Profiles.gemma(), List.of(new ChatMessage("system", "You are terse."), ChatMessage.user("Name a colour.")), N);
    }

    @Test
    void chatCompletionEqualsTheEnginesGreedyOutput() {
        JsonPath r = given().contentType(ContentType.JSON).body(BODY.formatted(N, "")).post("/v1/chat/completions")
                .then().statusCode(200).contentType(ContentType.JSON)
                .body("object", equalTo("chat.completion"))
                .body("id", startsWith("chatcmpl-"))
                .body("model", equalTo("gemma3-tiny-q4_0"))
                .body("choices[0].index", equalTo(0))
                .body("choices[0].message.role", equalTo("assistant"))
                .extract().jsonPath();
        assertEquals(expected.text(), r.getString("choices[0].message.content"));
        assertEquals(expected.promptTokens(), r.getInt("usage.prompt_tokens"));
        assertEquals(expected.tokens().length, r.getInt("usage.completion_tokens"));
        assertEquals(expected.promptTokens() + expected.tokens().length, r.getInt("usage.total_tokens"));
        assertEquals(expected.reason() == Generator.StopReason.MAX_TOKENS ? "length" : "stop", r.getString("choices[0].finish_reason"));
        assertTrue(r.getDouble("timings.predicted_per_second") > 0);
    }

    @Test
    void streamingYieldsTheSameTextAsChunksEndingWithDone() throws Exception {
        String body = given().contentType(ContentType.JSON).body(BODY.formatted(N, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"))
                .post("/v1/chat/completions")
                .then().statusCode(200).contentType(startsWith("text/event-stream")).extract().asString();
        List<JsonNode> events = Sse.events(body);
        assertEquals(expected.text(), Sse.text(events));
        JsonNode first = events.getFirst();
        assertEquals("chat.completion.chunk", first.path("object").asText());
        assertEquals("assistant", first.path("choices").path(0).path("delta").path("role").asText());
        JsonNode finish = events.get(events.size() - 2);
        assertEquals(expected.reason() == Generator.StopReason.MAX_TOKENS ? "length" : "stop",
                finish.path("choices").path(0).path("finish_reason").asText());
        JsonNode usage = events.getLast();
        assertEquals(0, usage.path("choices").size(), "include_usage adds a last chunk without choices");
        assertEquals(expected.promptTokens(), usage.path("usage").path("prompt_tokens").asInt());
        assertEquals(expected.tokens().length, usage.path("usage").path("completion_tokens").asInt());
        for (JsonNode e : events) {
            assertEquals(first.path("id").asText(), e.path("id").asText(), "one id for all chunks");
        }
    }

    @Test
    void stopStringsCutTheTextInBothModes() throws Exception {
        String full = expected.text();
        // A stop string from the middle of the greedy text: the answer ends right before its first occurrence.
        String stop = full.substring(full.length() / 2, full.length() / 2 + 2);
        String cut = full.substring(0, full.indexOf(stop));
        String extra = ",\"stop\":[\"%s\"]".formatted(stop);
        JsonPath r = given().contentType(ContentType.JSON).body(BODY.formatted(N, extra)).post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath();
        assertEquals(cut, r.getString("choices[0].message.content"));
        assertEquals("stop", r.getString("choices[0].finish_reason"));
        String streamed = given().contentType(ContentType.JSON).body(BODY.formatted(N, extra + ",\"stream\":true"))
                .post("/v1/chat/completions").then().statusCode(200).extract().asString();
        List<JsonNode> events = Sse.events(streamed);
        assertEquals(cut, Sse.text(events));
        assertEquals("stop", events.getLast().path("choices").path(0).path("finish_reason").asText());
    }

    @Test
    void modelsListsTheLoadedModel() {
        given().get("/v1/models").then().statusCode(200)
                .body("object", equalTo("list"))
                .body("data[0].id", equalTo("gemma3-tiny-q4_0"))
                .body("data[0].object", equalTo("model"))
                .body("data[0].owned_by", equalTo("edgellm"))
                .body("data[0].context_length", equalTo(512));
    }

    @Test
    void sampledGenerationIsReproducibleWithASeed() {
        String body = """
                {"messages":[{"role":"user","content":"Hi"}],"temperature":0.9,"top_k":20,"top_p":0.9,"min_p":0.01,"seed":42,"max_tokens":6}""";
        String a = given().contentType(ContentType.JSON).body(body).post("/v1/chat/completions").then().statusCode(200)
                .extract().jsonPath().getString("choices[0].message.content");
        String b = given().contentType(ContentType.JSON).body(body).post("/v1/chat/completions").then().statusCode(200)
                .extract().jsonPath().getString("choices[0].message.content");
        assertEquals(a, b);
    }

    @Test
    void healthIsUpOnceTheModelIsLoaded() {
        Management.given().get("/q/health/started").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.name", hasItem("model-loaded"));
        Management.given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
        Management.given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void systemReportsProbeBackendsChoiceModelAndFit() {
        JsonPath s = given().get("/api/system").then().statusCode(200).contentType(ContentType.JSON).extract().jsonPath();
        assertEquals("READY", s.getString("status.phase"));
        assertTrue(s.getInt("system.cores") > 0);
        assertTrue(s.getLong("system.mem_total_bytes") > 0);
        assertTrue(s.getList("backends.id").contains("scalar"));
        assertEquals("scalar", s.getString("calibration.chosen"));
        assertEquals("forced by configuration", s.getString("calibration.reason"));
        assertEquals("gemma3", s.getString("model.architecture"));
        assertEquals(512, s.getInt("model.context"));
        assertEquals(262144, s.getInt("model.vocab_size"));
        assertEquals("fits", s.getString("memory_fit.verdict"));
        assertTrue(s.getLong("memory_fit.weights_by_type.Q4_0") > 0);
        assertTrue(s.getLong("memory.limit_bytes") > 0);
    }

    @Test
    void fitOfTheLoadedModelAtAContext() {
        given().get("/api/fit?ctx=256").then().statusCode(200)
                .body("verdict", equalTo("fits")).body("context", equalTo(256)).body("max_context", equalTo(256))
                .body("kv_cache_bytes", greaterThan(0)).body("weights_bytes", greaterThan(19_000_000));
        given().get("/api/fit?ctx=0").then().statusCode(400).body("error.param", equalTo("ctx"));
    }

    @Test
    void fitOfAnotherFileUnderTheModelsDirectoryOnly() {
        given().contentType(ContentType.JSON).body("{\"path\":\"stories260K.gguf\",\"ctx\":1024}").post("/api/fit")
                .then().statusCode(200).body("architecture", equalTo("llama")).body("context", equalTo(1024)).body("fits", equalTo(true));
        given().contentType(ContentType.JSON).body("{\"path\":\"../reference/stories-prompts.txt\"}").post("/api/fit")
                .then().statusCode(400).body("error.code", equalTo("path_outside_models_dir"));
        given().contentType(ContentType.JSON).body("{\"path\":\"/etc/hostname\"}").post("/api/fit")
                .then().statusCode(400).body("error.code", equalTo("path_outside_models_dir"));
        given().contentType(ContentType.JSON).body("{\"path\":\"no-such.gguf\"}").post("/api/fit")
                .then().statusCode(404).body("error.code", equalTo("not_found"));
        given().contentType(ContentType.JSON).body("{\"path\":\"gemma3-tokenizer.json.gz\"}").post("/api/fit")
                .then().statusCode(400).body("error.code", equalTo("not_gguf"));
    }
}
