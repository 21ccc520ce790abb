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
            closeQuietly(mosquitto);
        }
    }

    /**
     * A mosquitto whose listener for the application is TLS and requires a client certificate
     * ({@link Mosquitto#startMutualTls}); the test's own clients use its plain listener
     * ({@link #port()}). The application trusts the test CA and, unless the resource's argument
     * {@code client-certificate} is {@code none}, presents the test client certificate (PEM).
     */
    public static class MutualTlsBroker implements QuarkusTestResourceLifecycleManager {
        private Mosquitto mosquitto;
        private boolean withCertificate = true;

        @Override
        public void init(Map<String, String> initArgs) {
            withCertificate = !"none".equals(initArgs.get("client-certificate"));
        }

        @Override
        public Map<String, String> start() {
            if (Mosquitto.unavailable() != null || TestPki.unavailable() != null) {
                return new EmbeddedBroker().start(); // the tests skip
            }
            try {
                TestPki pki = TestPki.create();
                mosquitto = Mosquitto.startMutualTls(pki);
                Map<String, String> m = common(mosquitto.port());
                m.put("edgellm.mqtt.host", "127.0.0.1");
                m.put("edgellm.mqtt.port", Integer.toString(mosquitto.tlsPort()));
                m.put("edgellm.mqtt.tls.enabled", "true");
                m.put("edgellm.mqtt.tls.ca-file", pki.ca().toString());
                if (withCertificate) {
                    m.put("edgellm.mqtt.tls.cert-file", pki.clientCert().toString());
                    m.put("edgellm.mqtt.tls.key-file", pki.clientKey().toString());
                }
                return m;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void stop() {
            closeQuietly(mosquitto);
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

    /** Stops a broker a resource started (none if it failed to start), keeping the interrupt flag. */
    private static void closeQuietly(Mosquitto mosquitto) {
        if (mosquitto != null) {
            try {
                mosquitto.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
