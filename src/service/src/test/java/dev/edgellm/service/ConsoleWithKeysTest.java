package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.testing.Await;
import dev.edgellm.service.testing.Browser;
import dev.edgellm.service.testing.Profiles;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;

/**
 * The console on a node with API keys: the page itself is public (it holds no data), every call it
 * makes needs the key, so it asks for one, and with it shows the node and chats.
 */
@QuarkusTest
@TestProfile(Profiles.Secured.class)
class ConsoleWithKeysTest {
    @BeforeAll
    static void browserInstalled() {
        String why = Browser.unavailable();
        Assumptions.assumeTrue(why == null, why);
    }

    @Test
    void theConsoleAsksForAKeyAndUsesIt() throws Exception {
        Await.modelLoaded();
        try (Browser b = Browser.start()) {
            b.driver().get(ConsoleBrowserTest.base() + "/");
            b.until("the console to ask for a key", 30, d -> b.byId("status").getText().equals("LOCKED"));
            assertFalse(b.byId("keybox").getAttribute("hidden") != null, "the key box shows");
            b.byId("key").sendKeys("not-the-key-0123456789");
            b.byId("savekey").click();
            b.until("a wrong key to be refused", 10, d -> b.byId("keybox").getAttribute("hidden") == null);
            b.byId("key").clear();
            b.byId("key").sendKeys(Profiles.API_KEY);
            b.byId("savekey").click();
            b.until("the node to show READY", 30, d -> b.byId("status").getText().equals("READY"));
            ConsoleBrowserTest.ask(b, "Hi", 4);
            b.until("the answer to finish", 60, d -> "done".equals(b.byId("log").getAttribute("data-state")));
            assertTrue(b.driver().findElement(By.cssSelector("#log .msg.assistant .meta")).getText().contains("4 tokens"));
        }
    }
}
