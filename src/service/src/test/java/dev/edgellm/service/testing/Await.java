package dev.edgellm.service.testing;

import static io.restassured.RestAssured.given;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polling for asynchronous state: the model loads in the background while HTTP already answers. */
public final class Await {
    private Await() {}

    /** Waits up to 60 s for {@code condition}. */
    public static void until(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Waits until the model is loaded ({@code /q/health/started} is UP). */
    public static void modelLoaded() throws InterruptedException {
        until("the model to load (/q/health/started UP)", () -> given().get("/q/health/started").then().extract().statusCode() == 200);
    }

    /** Waits until loading has failed. */
    public static void loadFailed() throws InterruptedException {
        until("the model load to fail", () -> "FAILED".equals(given().get("/api/system").then().extract().jsonPath().getString("status.phase")));
    }
}
