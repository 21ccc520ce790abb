package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;

import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

/** A missing model file: the service runs, started and ready are DOWN with the reason, requests get 503. */
@QuarkusTest
@TestProfile(Profiles.MissingModel.class)
class MissingModelTest {

    @Test
    void startedAndReadyAreDownWithTheReasonWhileLiveIsUp() throws Exception {
        Await.loadFailed();
        Management.given().get("/q/health/started").then().statusCode(503).body("status", equalTo("DOWN"))
                .body("checks[0].data.reason", containsString("not found"));
        Management.given().get("/q/health/ready").then().statusCode(503).body("status", equalTo("DOWN"))
                .body("checks[0].data.phase", equalTo("FAILED"));
        Management.given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void requestsAre503WithRetryAfter() throws Exception {
        Await.loadFailed();
        given().contentType(ContentType.JSON).body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").post("/v1/chat/completions")
                .then().statusCode(503).header("Retry-After", notNullValue())
                .body("error.code", equalTo("model_not_loaded"))
                .body("error.message", containsString("no-such-model.gguf"));
        given().contentType(ContentType.JSON).body("{\"prompt\":\"Hi\"}").post("/v1/completions").then().statusCode(503);
        given().get("/v1/models").then().statusCode(200).body("data", empty());
        given().get("/api/fit").then().statusCode(503);
        given().get("/api/system").then().statusCode(200)
                .body("status.reason", containsString("not found"))
                .body("system.cores", notNullValue())
                .body("model.loaded", equalTo(false));
    }
}
