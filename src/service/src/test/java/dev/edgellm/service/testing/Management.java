package dev.edgellm.service.testing;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The management interface (health and metrics) of the application under test: every test
 * application gets it on a free port (this resource applies to all Quarkus tests), and tests
 * reach it with {@link #given()}. The port travels in a system property, shared by the test and
 * the resource whichever class loader each was loaded by.
 */
@QuarkusTestResource(Management.Port.class)
public final class Management {
    /** The management port of the application under test. */
    public static final String PORT_PROPERTY = "management.test.port";

    private Management() {}

    public static int port() {
        String p = System.getProperty(PORT_PROPERTY);
        if (p == null) {
            throw new IllegalStateException("no management port was assigned");
        }
        return Integer.parseInt(p);
    }

    /** A request to the management interface ({@code /q/health/*}, {@code /q/metrics}). */
    public static RequestSpecification given() {
        Await.closeConnections();
        return RestAssured.given().port(port());
    }

    /**
     * The value of a counter or gauge in {@code /q/metrics}: {@code name} with its labels as the
     * exposition writes them (e.g. {@code edgellm_requests_total{intake="mqtt",outcome="invalid"}}),
     * or a bare name, whose series are summed; 0 when there is none yet.
     */
    public static double metric(String name) {
        String m = given().get("/q/metrics").then().statusCode(200).extract().asString();
        return m.lines().filter(l -> l.startsWith(name + " ") || !name.contains("{") && l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /**
     * Picks free ports before each application starts: one for the management interface and one for
     * the API (not port 0: Micrometer's HTTP server metrics tag a fixed port and cannot register one
     * server with the tag and one without).
     */
    public static class Port implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            try {
                String port = Integer.toString(Mosquitto.freePort());
                String http = Integer.toString(Mosquitto.freePort());
                System.setProperty(PORT_PROPERTY, port);
                return Map.of("quarkus.management.port", port, "quarkus.management.test-port", port,
                        "quarkus.http.port", http, "quarkus.http.test-port", http);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void stop() {
        }
    }
}
