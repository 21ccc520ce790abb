package dev.edgellm.service.testing;

import static io.restassured.RestAssured.given;

import java.net.ConnectException;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polling for asynchronous state: the model loads in the background while HTTP already answers. */
public final class Await {
    static {
        closeConnections();
    }

    private Await() {}

    /**
     * RestAssured opens a client (and a connection) per request and leaves it open until garbage
     * collection; polling every 20 ms would pile up hundreds of idle connections against the
     * service's {@code quarkus.http.limits.max-connections}. Every test request asks the server to
     * close its connection instead.
     */
    public static void closeConnections() {
        io.restassured.RestAssured.requestSpecification = new io.restassured.builder.RequestSpecBuilder().addHeader("Connection", "close").build();
    }

    /**
     * Waits up to 60 s for {@code condition}. A refused connection counts as "not yet" and is
     * retried: a freshly launched application (the packaged jar of the {@code ...IT} tests) can be
     * reported started a moment before its socket accepts on a loaded machine. Any other exception
     * fails at once; on time-out the last refusal is the cause.
     */
    public static void until(String what, BooleanSupplier condition) throws InterruptedException {
        long start = System.nanoTime();
        long end = start + Duration.ofSeconds(60).toNanos();
        Exception refused = null;
        int refusals = 0;
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    if (refusals > 0) {
                        System.err.printf("Await: %s after %d refused connection(s) over %d ms (last: %s)%n", what, refusals,
                                (System.nanoTime() - start) / 1_000_000, refused);
                    }
                    return;
                }
            } catch (Exception e) { // RestAssured throws a ConnectException undeclared
                if (!isRefused(e)) {
                    throw e;
                }
                refused = e;
                refusals++;
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what, refused);
            }
            Thread.sleep(20);
        }
    }

    /** Whether {@code e} is, or was caused by, a refused TCP connection. */
    static boolean isRefused(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return true;
            }
        }
        return false;
    }

    /** Waits until the model is loaded ({@code /q/health/started} is UP). */
    public static void modelLoaded() throws InterruptedException {
        closeConnections();
        until("the model to load (/q/health/started UP)", () -> Management.given().get("/q/health/started").then().extract().statusCode() == 200);
    }

    /** Waits until loading has failed. */
    public static void loadFailed() throws InterruptedException {
        until("the model load to fail", () -> "FAILED".equals(given().get("/api/system").then().extract().jsonPath().getString("status.phase")));
    }
}
