package dev.edgellm.service.testing;

import static io.restassured.RestAssured.given;

import java.net.ConnectException;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polling for asynchronous state: the model loads in the background while HTTP already answers. */
public final class Await {
    /** Adds {@code Connection: close} to every request. */
    private static final io.restassured.filter.Filter CLOSE = (request, response, ctx) -> {
        request.header("Connection", "close");
        return ctx.next(request, response);
    };

    static {
        closeConnections();
    }

    private Await() {}

    /**
     * RestAssured opens a client (and a connection) per request and leaves it open until garbage
     * collection; polling every 20 ms would pile up hundreds of idle connections against the
     * service's {@code quarkus.http.limits.max-connections}. Every test request asks the server to
     * close its connection instead: a global filter, not a default request specification, which
     * would carry the port and base URI of the moment it was built into every later request (a
     * specification built from another one takes that one's port, so the first port would stick).
     */
    public static synchronized void closeConnections() {
        if (!io.restassured.RestAssured.filters().contains(CLOSE)) {
            io.restassured.RestAssured.filters(CLOSE);
        }
    }

    /**
     * Waits up to 60 s for {@code condition}. A refused connection counts as "not yet" and is
     * retried: a freshly launched application (the packaged jar of the {@code ...IT} tests) can be
     * reported started a moment before its socket accepts on a loaded machine. Any other exception
     * fails at once; on time-out the last refusal is the cause.
     */
    public static void until(String what, BooleanSupplier condition) throws InterruptedException {
        until(what, Duration.ofSeconds(60), condition);
    }

    /** {@link #until(String, BooleanSupplier)} with another time limit. */
    public static void until(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
        long start = System.nanoTime();
        long end = start + limit.toNanos();
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

    /**
     * Waits until the model is loaded ({@code /q/health/started} is UP); fails at once, with the
     * service's reason, when the load has failed, and on time-out says what {@code /api/system} reports.
     */
    public static void modelLoaded() throws InterruptedException {
        closeConnections();
        try {
            // 120 s: a model load on a 2-core CI machine takes seconds, but one failed CI run saw a
            // packaged app not report started within 60 s; the message now says what it reported
            until("the model to load (/q/health/started UP)", Duration.ofSeconds(120), () -> {
                if (Management.given().get("/q/health/started").then().extract().statusCode() == 200) {
                    return true;
                }
                String phase = phase();
                if ("FAILED".equals(phase)) {
                    throw new AssertionError("the model load failed: " + statusOrReason());
                }
                return false;
            });
        } catch (AssertionError e) {
            if (e.getMessage().startsWith("timed out")) {
                throw new AssertionError(e.getMessage() + "; /api/system status: " + statusOrReason(), e.getCause());
            }
            throw e;
        }
    }

    /** The service's lifecycle phase ({@code status.phase} of {@code /api/system}). */
    private static String phase() {
        try {
            return given().get("/api/system").then().extract().jsonPath().getString("status.phase");
        } catch (RuntimeException e) {
            if (isRefused(e)) {
                throw e;
            }
            return null; // a profile with API keys, or a body that is not JSON: no phase to read
        }
    }

    /** {@code /api/system}'s status object, or why it could not be read (for failure messages). */
    private static String statusOrReason() {
        try {
            return given().get("/api/system").then().extract().jsonPath().getString("status");
        } catch (Exception e) { // RestAssured throws a refused connection's ConnectException undeclared
            return "unreadable (" + e + ")";
        }
    }

    /** Waits until loading has failed. */
    public static void loadFailed() throws InterruptedException {
        until("the model load to fail", () -> "FAILED".equals(given().get("/api/system").then().extract().jsonPath().getString("status.phase")));
    }
}
