package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

/** Memory for fewer tokens than asked: the context is capped to what fits, reported, and the model serves. */
@QuarkusTest
@TestProfile(Profiles.CappedContext.class)
class CappedContextTest {

    @Test
    void theContextIsCappedToWhatFits() throws Exception {
        Await.modelLoaded();
        Management.given().get("/q/health/ready").then().statusCode(200);
        given().get("/api/system").then().statusCode(200)
                .body("model.requested_context", equalTo(512))
                .body("model.context", equalTo(Profiles.CAPPED_CONTEXT))
                .body("model.context_capped_by_memory", equalTo(true))
                .body("memory_fit.verdict", equalTo("fits_reduced_context"))
                .body("memory_fit.max_context", equalTo(Profiles.CAPPED_CONTEXT));
        given().get("/v1/models").then().body("data[0].context_length", equalTo(Profiles.CAPPED_CONTEXT));
    }
}
