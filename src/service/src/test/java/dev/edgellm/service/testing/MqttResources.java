package dev.edgellm.service.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;

/**
 * Brokers for the MQTT test profiles. Each start gives the application a fresh state directory
 * and tells the test the broker's port through a system property ({@link #PORT_PROPERTY}), which
 * the test and the resource share whatever class loader each was loaded by.
 */
public final class MqttResources {
    /** The port of the broker the application under test uses (outside {@code edgellm.*}, which the application validates). */
    public static final String PORT_PROPERTY = "mqtt.test.port";

    private MqttResources() {}

    public static int port() {
        String p = System.getProperty(PORT_PROPERTY);
        if (p == null) {
            throw new IllegalStateException("no MQTT test broker was started");
        }
        return Integer.parseInt(p);
    }

    static Map<String, String> common(int port) {
        System.setProperty(PORT_PROPERTY, Integer.toString(port));
        Map<String, String> m = new HashMap<>();
        try {
            m.put("edgellm.mqtt.state-dir", Files.createTempDirectory("edgellm-mqtt-test").toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return m;
    }

    /** A real mosquitto on a free port. */
    public static class MosquittoBroker implements QuarkusTestResourceLifecycleManager {
        private Mosquitto mosquitto;

        @Override
        public Map<String, String> start() {
            if (Mosquitto.unavailable() != null) {
                // the tests skip; the application falls back to its embedded broker on some free port
                try {
                    return common(Mosquitto.freePort());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            try {
                mosquitto = Mosquitto.start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            Map<String, String> m = common(mosquitto.port());
            m.put("edgellm.mqtt.host", "127.0.0.1");
            m.put("edgellm.mqtt.port", Integer.toString(mosquitto.port()));
            return m;
        }

        @Override
        public void stop() {
            if (mosquitto != null) {
                try {
                    mosquitto.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** No broker host: the application starts its embedded broker, on a free port. */
    public static class EmbeddedBroker implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            try {
                int port = Mosquitto.freePort();
                Map<String, String> m = common(port);
                m.put("edgellm.mqtt.port", Integer.toString(port));
                return m;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void stop() {
        }
    }
}
