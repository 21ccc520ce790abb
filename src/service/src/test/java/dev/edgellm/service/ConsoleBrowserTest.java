package dev.edgellm.service;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.engine.ChatMessage;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Browser;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Reference;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * The web console at {@code /} in a real headless Chromium: it loads with no external asset, shows
 * the node READY with its model, backend, memory fit and queue, streams an answer token by token
 * into the page (equal to the engine's greedy output), and its stop button cancels a generation
 * on the server. Saves {@code target/console.png} (the README's screenshot).
 */
@QuarkusTest
@TestProfile(Profiles.Console.class)
class ConsoleBrowserTest {
    static final int SHORT = 24;

    @BeforeAll
    static void browserInstalled() {
        String why = Browser.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    @BeforeEach
    void modelLoaded() throws InterruptedException {
        Await.modelLoaded();
    }

    static String base() {
        return "http://127.0.0.1:" + RestAssured.port;
    }

    static int engineInt(String field) {
        return given().get("/api/system").then().statusCode(200).extract().jsonPath().getInt("engine." + field);
    }

    static void ask(Browser b, String prompt, int maxTokens) {
        b.byId("max").clear();
        b.byId("max").sendKeys(Integer.toString(maxTokens));
        b.byId("temp").clear();
        b.byId("temp").sendKeys("0");
        b.byId("prompt").sendKeys(prompt);
        b.byId("send").click();
    }

    static String answer(Browser b) {
        List<WebElement> a = b.driver().findElements(By.cssSelector("#log .msg.assistant"));
        if (a.isEmpty()) {
            return "";
        }
        // the text without the meta line under it
        return (String) ((org.openqa.selenium.JavascriptExecutor) b.driver()).executeScript(
                "const m = arguments[0]; return m.firstChild && m.firstChild.nodeType === 3 ? m.firstChild.data : '';", a.getLast());
    }

    @Test
    void theConsoleShowsTheNodeStreamsAnAnswerAndStopCancels() throws Exception {
        Generator.Result expected = Reference.chat(Profiles.gemma(), List.of(ChatMessage.user("Name a colour.")), SHORT);
        try (Browser b = Browser.start()) {
            b.driver().get(base() + "/");
            b.until("the node to show READY", 30, d -> b.byId("status").getText().equals("READY"));
            assertEquals("gemma3-tiny-q4_0", b.byId("model").getText());
            assertEquals("scalar", b.byId("backend").getText());
            assertTrue(b.byId("fit").getText().startsWith("fits"), b.byId("fit").getText());
            assertTrue(b.byId("queue").getText().contains("/ 1"), b.byId("queue").getText());
            assertTrue(b.byId("keybox").getAttribute("hidden") != null, "no key asked on loopback without keys");

            // a long answer streams into the page; stop ends it on the server too
            int cancelled = engineInt("jobs_cancelled");
            ask(b, "Tell a long story.", 400);
            b.until("text to stream in", 60, d -> answer(b).length() > 10);
            int seen = answer(b).length();
            b.until("more text to stream in", 60, d -> answer(b).length() > seen);
            assertEquals("streaming", b.byId("log").getAttribute("data-state"));
            assertTrue(b.byId("tpsnote").getText().contains("live"), "live tokens/s while streaming");
            b.byId("stop").click();
            b.until("the answer to stop", 10, d -> "stopped".equals(b.byId("log").getAttribute("data-state")));
            Await.until("the job to be cancelled on the server", () -> engineInt("jobs_cancelled") > cancelled);
            Await.until("the engine to be idle", () -> !given().get("/api/system").then().extract().jsonPath().getBoolean("engine.busy"));
            String stopped = answer(b);
            Thread.sleep(1000);
            assertEquals(stopped, answer(b), "nothing arrives after stop");

            // a fresh conversation: the answer is the engine's greedy output, streamed in pieces
            b.byId("clear").click();
            ask(b, "Name a colour.", SHORT);
            b.until("the answer to finish", 60, d -> "done".equals(b.byId("log").getAttribute("data-state")));
            assertEquals(expected.text(), answer(b));
            String meta = b.driver().findElement(By.cssSelector("#log .msg.assistant .meta")).getText();
            assertTrue(meta.contains(SHORT + " tokens"), meta);
            b.until("the last speed to show", 10, d -> !b.byId("tps").getText().equals("—"));
            b.screenshot(Path.of("target", "console.png"));
        }
    }
}
