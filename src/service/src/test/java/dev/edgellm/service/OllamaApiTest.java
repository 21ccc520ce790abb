package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Reference;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.ValidatableResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Ollama-compatible API: generate and chat (NDJSON by default, one object without streaming)
 * equal the engine's greedy output with Ollama's counts, the model endpoints, and every bad input
 * answered {@code {"error": "..."}} with Ollama's status while the node stays ready.
 */
@QuarkusTest
@TestProfile(Profiles.Gemma.class)
class OllamaApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "gemma3-tiny-q4_0";
    static final int N = 8;
    static Generator.Result chatExpected;
    static Generator.Result rawExpected;

    @BeforeAll
    static void oracle() throws Exception {
        chatExpected = Reference.chat(Profiles.gemma(), List.of(new ChatMessage("system", "You are terse."), ChatMessage.user("Name a colour.")), N);
        rawExpected = Reference.text(Profiles.gemma(), "Once upon a time", N);
    }

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    static final String CHAT = """
            {"model":"%s","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Name a colour."}],
             "options":{"temperature":0,"num_predict":%d}%s}""";

    static ValidatableResponse post(String path, String body) {
        return given().contentType(ContentType.JSON).body(body).post(path).then();
    }

    /** POSTs and reads the answer line by line as it arrives. */
    static List<String> lines(String path, String body) throws Exception {
        try (HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            HttpResponse<java.util.stream.Stream<String>> r = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + RestAssured.port + path))
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofLines());
            assertEquals(200, r.statusCode());
            assertEquals("application/x-ndjson", r.headers().firstValue("Content-Type").orElse("").split(";")[0]);
            List<String> out = new ArrayList<>();
            r.body().forEach(out::add);
            return out;
        }
    }

    @Test
    void chatStreamsNdjsonLineByLineWithCountsMatchingTheTokensSent() throws Exception {
        List<String> lines = lines("/api/chat", CHAT.formatted(MODEL, N, ""));
        assertTrue(lines.size() >= 2, "pieces, then the done line: " + lines);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode l = JSON.readTree(lines.get(i)); // every line is one JSON object
            assertTrue(l.isObject(), lines.get(i));
            assertEquals(MODEL, l.path("model").asText());
            assertTrue(l.path("created_at").asText().endsWith("Z"), "RFC 3339 time: " + l);
            assertEquals("assistant", l.path("message").path("role").asText());
            boolean last = i == lines.size() - 1;
            assertEquals(last, l.path("done").asBoolean(), "only the last line is done: " + l);
            text.append(l.path("message").path("content").asText());
            if (last) {
                assertEquals("", l.path("message").path("content").asText());
                assertEquals(chatExpected.reason() == Generator.StopReason.MAX_TOKENS ? "length" : "stop", l.path("done_reason").asText());
                assertEquals(chatExpected.promptTokens(), l.path("prompt_eval_count").asInt());
                assertEquals(chatExpected.tokens().length, l.path("eval_count").asInt());
                assertTrue(lines.size() - 1 <= l.path("eval_count").asInt(), "at most one line per token");
                long total = l.path("total_duration").asLong();
                assertTrue(l.path("prompt_eval_duration").asLong() > 0 && l.path("eval_duration").asLong() >= 0 && l.path("load_duration").asLong() > 0);
                assertTrue(total >= l.path("load_duration").asLong() + l.path("prompt_eval_duration").asLong() + l.path("eval_duration").asLong(),
                        "total covers the parts: " + l);
            } else {
                assertFalse(l.has("eval_count"), "counts only on the last line");
            }
        }
        assertEquals(chatExpected.text(), text.toString());
    }

    @Test
    void chatWithoutStreamingIsOneObject() {
        JsonPath r = post("/api/chat", CHAT.formatted(MODEL + ":latest", N, ",\"stream\":false")).statusCode(200).contentType(ContentType.JSON)
                .body("done", equalTo(true)).body("message.role", equalTo("assistant")).extract().jsonPath();
        assertEquals(chatExpected.text(), r.getString("message.content"));
        assertEquals(chatExpected.tokens().length, r.getInt("eval_count"));
        assertEquals(chatExpected.promptTokens(), r.getInt("prompt_eval_count"));
    }

    @Test
    void generateAppliesTheChatTemplateAndRawDoesNot() throws Exception {
        JsonPath r = post("/api/generate", """
                {"model":"%s","system":"You are terse.","prompt":"Name a colour.","stream":false,"options":{"temperature":0,"num_predict":%d}}"""
                .formatted(MODEL, N)).statusCode(200).contentType(ContentType.JSON).body("done", equalTo(true)).extract().jsonPath();
        assertEquals(chatExpected.text(), r.getString("response"));
        List<String> lines = lines("/api/generate", """
                {"model":"%s","prompt":"Once upon a time","raw":true,"options":{"temperature":0,"num_predict":%d}}""".formatted(MODEL, N));
        StringBuilder text = new StringBuilder();
        for (String l : lines) {
            text.append(JSON.readTree(l).path("response").asText());
        }
        JsonNode last = JSON.readTree(lines.getLast());
        assertTrue(last.path("done").asBoolean());
        assertEquals(rawExpected.text(), text.toString());
        assertEquals(rawExpected.promptTokens(), last.path("prompt_eval_count").asInt());
        assertEquals(rawExpected.tokens().length, last.path("eval_count").asInt());
    }

    @Test
    void optionsStopNumPredictAndSeed() {
        String full = chatExpected.text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 2);
        JsonPath cut = post("/api/chat", CHAT.formatted(MODEL, N, "").replace("\"num_predict\"", "\"stop\":[\"" + stop + "\"],\"num_predict\"")
                .replace("}\n", "}").replace("\"options\"", "\"stream\":false,\"options\"")).statusCode(200).extract().jsonPath();
        assertEquals(full.substring(0, full.indexOf(stop)), cut.getString("message.content"));
        assertEquals("stop", cut.getString("done_reason"));
        JsonPath three = post("/api/chat", CHAT.formatted(MODEL, 3, ",\"stream\":false").replace("\"temperature\":0", "\"temperature\":0,\"num_predict\":3"))
                .statusCode(200).extract().jsonPath();
        assertEquals(3, three.getInt("eval_count"));
        assertEquals("length", three.getString("done_reason"));
        String sampled = """
                {"model":"%s","prompt":"Hi","stream":false,"options":{"temperature":0.9,"top_k":20,"top_p":0.9,"min_p":0.01,"seed":42,"num_predict":6,"num_ctx":256}}"""
                .formatted(MODEL);
        assertEquals(post("/api/generate", sampled).statusCode(200).extract().jsonPath().getString("response"),
                post("/api/generate", sampled).statusCode(200).extract().jsonPath().getString("response"));
    }

    @Test
    void emptyPromptOrNoMessagesLoadsTheModel() {
        post("/api/generate", "{\"model\":\"" + MODEL + "\"}").statusCode(200).body("done", equalTo(true)).body("done_reason", equalTo("load"))
                .body("response", equalTo(""));
        post("/api/chat", "{\"model\":\"" + MODEL + "\",\"messages\":[]}").statusCode(200).body("done_reason", equalTo("load"));
    }

    @Test
    void aFormPostedBodyIsReadAsJsonAsOllamaDoes() {
        // curl -d sends application/x-www-form-urlencoded; Ollama's documented examples rely on that working
        given().contentType("application/x-www-form-urlencoded").body("{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"stream\":false,\"options\":{\"num_predict\":2}}")
                .post("/api/generate").then().statusCode(200).body("done", equalTo(true)).body("eval_count", equalTo(2));
    }

    @Test
    void tagsPsShowVersionAndHead() {
        given().get("/api/tags").then().statusCode(200)
                .body("models[0].name", equalTo(MODEL + ":latest")).body("models[0].model", equalTo(MODEL + ":latest"))
                .body("models[0].size", greaterThan(19_000_000)).body("models[0].digest", org.hamcrest.Matchers.matchesPattern("[0-9a-f]{64}"))
                .body("models[0].details.format", equalTo("gguf")).body("models[0].details.family", equalTo("gemma3"))
                .body("models[0].details.quantization_level", equalTo("Q4_0")).body("models[0].modified_at", startsWith("20"));
        given().get("/api/ps").then().statusCode(200)
                .body("models[0].name", equalTo(MODEL + ":latest")).body("models[0].size", greaterThan(19_000_000))
                .body("models[0].size_vram", equalTo(0)).body("models[0].context_length", equalTo(512))
                .body("models[0].expires_at", startsWith("2"));
        JsonPath show = post("/api/show", "{\"model\":\"" + MODEL + "\"}").statusCode(200).extract().jsonPath();
        assertEquals("gemma3", show.getString("model_info.'general.architecture'"));
        assertTrue(show.getMap("model_info").containsKey("tokenizer.ggml.tokens"), "arrays are listed");
        org.junit.jupiter.api.Assertions.assertNull((Object) show.get("model_info.'tokenizer.ggml.tokens'"), "and left out unless verbose, as Ollama does");
        assertTrue(show.getLong("model_info.'general.parameter_count'") > 0);
        assertTrue(show.getString("parameters").contains("num_ctx"));
        assertTrue(show.getString("template").contains("start_of_turn") || show.getString("template").contains("Gemma"), show.getString("template"));
        assertEquals(List.of("completion"), show.getList("capabilities"));
        post("/api/show", "{\"name\":\"" + MODEL + ":latest\"}").statusCode(200);
        given().get("/api/version").then().statusCode(200).body("version", equalTo("0.9.0")).body("$", hasKey("edgellm"));
        given().head("/").then().statusCode(200);
    }

    // ---- bad input: Ollama's {"error": "..."} and status, and the node stays ready ------------------

    static void ollamaError(ValidatableResponse r, int status, String text) {
        r.statusCode(status).contentType(ContentType.JSON).body("error", instanceOf(String.class)).body("error", containsString(text));
    }

    static void stillReady() {
        Management.given().get("/q/health/ready").then().statusCode(200);
        post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"stream\":false,\"options\":{\"num_predict\":1}}").statusCode(200)
                .body("eval_count", equalTo(1));
    }

    @Test
    void badJsonIs400() {
        ollamaError(post("/api/chat", "{\"model\":\"" + MODEL + "\",\"messages\":["), 400, "not valid JSON");
        ollamaError(post("/api/generate", "not json"), 400, "not valid JSON");
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"options\":{\"temperature\":\"hot\"}}"), 400, "temperature");
        ollamaError(post("/api/generate", ""), 400, "missing");
        stillReady();
    }

    @Test
    void anUnknownModelIs404AsInOllama() {
        ollamaError(post("/api/chat", CHAT.formatted("llama3.2", N, "")), 404, "model \"llama3.2\" not found");
        ollamaError(post("/api/generate", "{\"model\":\"mistral:7b\",\"prompt\":\"Hi\"}"), 404, "not found");
        ollamaError(post("/api/show", "{\"model\":\"mistral\"}"), 404, "not found");
        ollamaError(post("/api/generate", "{\"prompt\":\"Hi\"}"), 400, "model is required");
        stillReady();
    }

    @Test
    void numCtxLargerThanTheContextIs400() {
        ollamaError(post("/api/chat", CHAT.formatted(MODEL, N, "").replace("\"temperature\":0", "\"temperature\":0,\"num_ctx\":8192")), 400,
                "num_ctx 8192 is more than the 512 tokens");
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"options\":{\"num_ctx\":0}}"), 400, "num_ctx");
        // a prompt that does not fit the smaller context asked for
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time there was a colour\",\"raw\":true,"
                + "\"options\":{\"num_ctx\":4}}"), 400, "context");
        stillReady();
    }

    @Test
    void imagesAre400NotSupported() {
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"What is this?\",\"images\":[\"iVBORw0KGgo=\"]}"), 400,
                "images are not supported");
        ollamaError(post("/api/chat", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"What is this?\",\"images\":[\"iVBORw0KGgo=\"]}]}"),
                400, "images are not supported");
        stillReady();
    }

    @Test
    void otherUnsupportedOrInvalidOptionsAre400() {
        ollamaError(post("/api/chat", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"tools\":[{\"type\":\"function\"}]}"),
                400, "does not support tools");
        ollamaError(post("/api/chat", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"think\":true}"), 400,
                "does not support thinking");
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"format\":\"json\"}"), 400, "format");
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"options\":{\"num_predict\":0}}"), 400, "num_predict");
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"options\":{\"temperature\":5}}"), 400, "temperature");
        ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\",\"options\":{\"mirostat\":2}}"), 400, "mirostat");
        ollamaError(post("/api/chat", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"robot\",\"content\":\"Hi\"}]}"), 400, "role");
        ollamaError(given().post("/api/pull").then(), 404, "not implemented");
        ollamaError(given().get("/api/chat").then(), 405, "/api/chat");
        stillReady();
    }

    @Test
    void theQueueIsSharedWithTheOpenAiApiAndFullIs503AsInOllama() throws Exception {
        // the OpenAI API fills the engine and its one waiting place (ignore_eos: long generations)
        try (dev.edgellm.service.testing.Sse.RawStream running = new dev.edgellm.service.testing.Sse.RawStream(RestAssured.port,
                "/v1/chat/completions", ChatQueueTest.LONG)) {
            assertEquals("HTTP/1.1 200 OK", running.status());
            running.nextContentEvent();
            try (dev.edgellm.service.testing.Sse.RawStream waiting = new dev.edgellm.service.testing.Sse.RawStream(RestAssured.port,
                    "/v1/chat/completions", ChatQueueTest.LONG)) {
                assertEquals("HTTP/1.1 200 OK", waiting.status());
                Await.until("a request to wait in the queue", () -> ChatQueueTest.engineInt("queue_depth") == 1);
                ollamaError(post("/api/chat", CHAT.formatted(MODEL, N, "")).header("Retry-After", "3"), 503, "busy");
                ollamaError(post("/api/generate", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Hi\"}"), 503, "busy");
            }
        }
        Await.until("the engine to be idle", () -> !given().get("/api/system").then().extract().jsonPath().getBoolean("engine.busy"));
        stillReady();
    }
}
