package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A chat template that does not parse: the built-in Gemma template serves chats, and /api/system says why. */
@QuarkusTest
@TestProfile(Profiles.UnparsableTemplate.class)
class UnparsableChatTemplateTest {

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    @Test
    void theBuiltInTemplateServesAndTheSystemReportWarns() {
        given().get("/api/system").then().statusCode(200)
                .body("model.chat_template", equalTo(true))
                .body("model.chat_template_source", equalTo("built-in Gemma"))
                .body("model.chat_template_warning", allOf(containsString("tokenizer.chat_template cannot be parsed"),
                        containsString("using the built-in Gemma template")));
        // the built-in template merges a system message into the first user turn and refuses a late one
        given().contentType(ContentType.JSON)
                .body("{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2,\"temperature\":0}")
                .post("/v1/chat/completions").then().statusCode(200).body("usage.completion_tokens", equalTo(2));
        given().contentType(ContentType.JSON)
                .body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"system\",\"content\":\"late\"}]}")
                .post("/v1/chat/completions").then().statusCode(400).body("error.param", equalTo("messages"));
    }
}
