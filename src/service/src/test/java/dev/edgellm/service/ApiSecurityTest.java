package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Management;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The REST API on a hostile network: API keys (configured and from a keys file that is re-read),
 * 401s in OpenAI's shape, health and metrics reachable without a key on the management interface,
 * a body-read deadline for clients that trickle, and a wall-clock budget per request.
 */
@QuarkusTest
@TestProfile(Profiles.Secured.class)
class ApiSecurityTest {

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    static RequestSpecification withKey(String key) {
        return given().header("Authorization", "Bearer " + key);
    }

    @Test
    void withoutAValidKeyTheApiAnswers401InOpenAisShape() {
        given().contentType(ContentType.JSON).body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").post("/v1/chat/completions")
                .then().statusCode(401).contentType(ContentType.JSON)
                .header("WWW-Authenticate", startsWith("Bearer realm="))
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.code", equalTo("invalid_api_key"))
                .body("error.message", containsString("Authorization: Bearer"));
        given().get("/v1/models").then().statusCode(401);
        given().get("/api/system").then().statusCode(401);
        given().get("/api/fit").then().statusCode(401);
        given().header("Authorization", "Basic dXNlcjpwYXNz").get("/v1/models").then().statusCode(401);
        withKey("wrong-key-0123456789abcdef").get("/v1/models").then().statusCode(401)
                .header("WWW-Authenticate", containsString("error=\"invalid_token\""))
                .body("error.message", containsString("not valid"));
        withKey(Profiles.API_KEY.substring(0, 10)).get("/v1/models").then().statusCode(401);
        // the configured key and the file's key both work, on every protected path
        withKey(Profiles.API_KEY).get("/v1/models").then().statusCode(200).body("data[0].id", equalTo("gemma3-tiny-q4_0"));
        withKey(Profiles.FILE_KEY).get("/api/system").then().statusCode(200);
        given().header("Authorization", "bearer " + Profiles.API_KEY).get("/v1/models").then().statusCode(200);
    }

    @Test
    void theOllamaApiNeedsTheKeyTooAndAnswersInOllamasShape() {
        given().get("/api/tags").then().statusCode(401).header("WWW-Authenticate", startsWith("Bearer realm="))
                .body("error", containsString("Authorization: Bearer"));
        given().contentType(ContentType.JSON).body("{\"model\":\"gemma3-tiny-q4_0\",\"prompt\":\"Hi\"}").post("/api/generate")
                .then().statusCode(401).body("error", containsString("API key"));
        withKey(Profiles.API_KEY).get("/api/tags").then().statusCode(200).body("models[0].name", equalTo("gemma3-tiny-q4_0:latest"));
        // the console's page holds no data and needs no key; what it calls does
        given().get("/").then().statusCode(200).contentType(startsWith("text/html"));
    }

    @Test
    void healthAndMetricsNeedNoKeyAndAreOnTheManagementPort() {
        Management.given().get("/q/health/live").then().statusCode(200);
        Management.given().get("/q/health/ready").then().statusCode(200);
        given().get("/v1/models").then().statusCode(401);
        String metrics = Management.given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("outcome=\"unauthorized\""), "refusals are counted");
        // not on the API port
        assertTrue(given().get("/q/health/live").then().extract().statusCode() != 200, "health is not served on the API port");
    }

    @Test
    void aRotatedKeysFileTakesEffectWithoutARestart() throws Exception {
        String rotated = "rotated-key-0123456789abcdef";
        Files.writeString(Profiles.keysFile(), rotated + "\n");
        Files.setLastModifiedTime(Profiles.keysFile(), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 1000));
        try {
            Await.until("the rotated key to be accepted", () -> withKey(rotated).get("/v1/models").then().extract().statusCode() == 200);
            withKey(Profiles.FILE_KEY).get("/v1/models").then().statusCode(401);
            withKey(Profiles.API_KEY).get("/v1/models").then().statusCode(200);
        } finally {
            Files.writeString(Profiles.keysFile(), Profiles.FILE_KEY + "\n");
            Files.setLastModifiedTime(Profiles.keysFile(), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 2000));
            Await.until("the original file key to be back", () -> withKey(Profiles.FILE_KEY).get("/v1/models").then().extract().statusCode() == 200);
        }
    }

    /** A client that trickles its body holds neither a thread nor, for long, a connection. */
    @Test
    void aBodyTrickledPastTheBodyTimeoutAnswers408AndTheConnectionIsClosed() throws Exception {
        try (Socket s = new Socket("127.0.0.1", RestAssured.port)) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer "
                    + Profiles.API_KEY + "\r\nContent-Length: 100\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long t0 = System.nanoTime();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals("HTTP/1.1 408 Request Timeout", status);
            assertTrue(ms >= 800 && ms < 20_000, "answered after the 1 s body timeout, not before: " + ms + " ms");
            StringBuilder rest = new StringBuilder();
            for (String l; (l = in.readLine()) != null; ) {
                rest.append(l).append('\n');
            }
            assertTrue(rest.toString().contains("\"code\":\"request_timeout\""), rest.toString());
            assertTrue(rest.toString().contains("edgellm.api.body-timeout"), rest.toString());
            // readLine returned null: the server closed the connection
        }
        Management.given().get("/q/health/live").then().statusCode(200);
    }

    @Test
    void aRequestOverMaxRequestTimeEndsWithLengthAndSaysWhy() {
        JsonPath r = withKey(Profiles.API_KEY).contentType(ContentType.JSON)
                .body("{\"messages\":[{\"role\":\"user\",\"content\":\"Tell a long story.\"}],\"max_tokens\":400,\"ignore_eos\":true,\"temperature\":0}")
                .post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals("length", r.getString("choices[0].finish_reason"));
        assertEquals("max_request_time", r.getString("truncated_by"));
        int tokens = r.getInt("usage.completion_tokens");
        assertTrue(tokens > 0 && tokens < 400, "cut short after some tokens: " + tokens);
        // an ordinary request is not marked
        JsonPath ok = withKey(Profiles.API_KEY).contentType(ContentType.JSON)
                .body("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2,\"temperature\":0}")
                .post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals(null, ok.getString("truncated_by"));
    }
}
