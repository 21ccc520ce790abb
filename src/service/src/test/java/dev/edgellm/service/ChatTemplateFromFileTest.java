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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The model's own Jinja chat template is applied; when it calls raise_exception the request is a 400 naming its message. */
@QuarkusTest
@TestProfile(Profiles.RaisingTemplate.class)
class ChatTemplateFromFileTest {

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    @Test
    void raiseExceptionIs400WithTheTemplatesMessage() {
        given().contentType(ContentType.JSON)
                .body("{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}")
                .post("/v1/chat/completions").then()
                .statusCode(400).contentType(ContentType.JSON)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.param", equalTo("messages"))
                .body("error.message", containsString("System role not supported"));
    }

    @Test
    void aConversationTheTemplateAcceptsIsServed() {
        given().contentType(ContentType.JSON)
                .body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2,\"temperature\":0}")
                .post("/v1/chat/completions").then()
                .statusCode(200).body("usage.completion_tokens", equalTo(2));
        given().get("/api/system").then().statusCode(200)
                .body("model.chat_template", equalTo(true))
                .body("model.chat_template_source", equalTo("tokenizer.chat_template (Jinja)"))
                .body("model.chat_template_warning", nullValue());
    }
}
