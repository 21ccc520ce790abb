package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

/** A memory limit below the model's need (simulated through configuration): the model is not loaded. */
@QuarkusTest
@TestProfile(Profiles.TooLittleMemory.class)
class TooLittleMemoryTest {

    @Test
    void theServiceRefusesTheModelAndSaysWhy() throws Exception {
        Await.loadFailed();
        Management.given().get("/q/health/ready").then().statusCode(503).body("status", equalTo("DOWN"))
                .body("checks[0].data.memory_fit", containsString("does not fit"));
        Management.given().get("/q/health/started").then().statusCode(503)
                .body("checks[0].data.reason", containsString("does not fit the memory limit"));
        Management.given().get("/q/health/live").then().statusCode(200);
        given().get("/api/system").then().statusCode(200)
                .body("memory_fit.verdict", equalTo("does_not_fit"))
                .body("memory_fit.budget_bytes", equalTo(32 * 1024 * 1024))
                .body("memory_fit.budget_source", containsString("edgellm.memory.limit"));
        // The fit of the configured model is still answered from its header.
        given().get("/api/fit?ctx=512").then().statusCode(200).body("fits", equalTo(false));
        given().contentType(ContentType.JSON).body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").post("/v1/chat/completions")
                .then().statusCode(503).body("error.message", containsString("does not fit"));
    }
}
