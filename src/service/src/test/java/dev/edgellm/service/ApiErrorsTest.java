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
}
