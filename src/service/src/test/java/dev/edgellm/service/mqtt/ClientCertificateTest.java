package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.TestPki;
import dev.edgellm.service.testing.TestMqtt;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Client-certificate TLS to a broker that requires it (mosquitto with {@code require_certificate
 * true}, as cloud IoT brokers do): the connection built from {@code edgellm.mqtt.tls.*} gets in
 * with a PEM certificate and key, or with a PKCS#12 key store, and receives what is published on
 * the broker; without a client certificate it never gets in, and its failed cycles reach
 * {@code reconnect.down-after} (where the {@code mqtt} health check turns DOWN).
 */
class ClientCertificateTest {
    static TestPki pki;
    static Mosquitto broker;
    Vertx vertx;
    MqttConnection connection;

    @BeforeAll
    static void start() throws Exception {
        String why = Mosquitto.unavailable() != null ? Mosquitto.unavailable() : TestPki.unavailable();
        Assumptions.assumeTrue(why == null, why);
        pki = TestPki.create();
        broker = Mosquitto.startMutualTls(pki);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (broker != null) {
            broker.close();
        }
    }

    @BeforeEach
    void vertx() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void stop() throws Exception {
        if (connection != null) {
            connection.stop().get(5, TimeUnit.SECONDS);
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    static EdgeLlmConfig.Mqtt config(Map<String, String> tls) {
        Map<String, String> p = new HashMap<>();
        p.put("edgellm.model.path", "unused.gguf");
        p.put("edgellm.mqtt.host", "127.0.0.1");
        p.put("edgellm.mqtt.port", Integer.toString(broker.tlsPort()));
        p.put("edgellm.mqtt.tls.enabled", "true");
        p.put("edgellm.mqtt.tls.ca-file", pki.ca().toString());
        tls.forEach((k, v) -> p.put("edgellm.mqtt.tls." + k, v));
        return new SmallRyeConfigBuilder().withMapping(EdgeLlmConfig.class)
                .withConverter(Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200, new io.quarkus.runtime.configuration.MemorySizeConverter())
                .withSources(new PropertiesConfigSource(p, "test", 500)).build().getConfigMapping(EdgeLlmConfig.class).mqtt();
    }

    MqttConnection connect(Map<String, String> tls, String clientId) {
        EdgeLlmConfig.Mqtt m = config(tls);
        connection = new MqttConnection(vertx, ClientOptions.of(m, clientId, 1 << 16, "edgellm/" + clientId + "/status", "{}".getBytes(StandardCharsets.UTF_8)),
                new MqttConnection.Settings(m.host().orElseThrow(), m.port(), MqttQoS.AT_LEAST_ONCE, Duration.ofMillis(100), Duration.ofMillis(300), 3, 1 << 16, 2),
                new MqttMetrics());
        connection.start();
        return connection;
    }

    /** Connects, and a message published by a plain client on the broker's other listener arrives over TLS. */
    void receivesOverTls(MqttConnection c, String topic) throws Exception {
        MqttConnectionTest.until("the TLS connection with the client certificate", c::connected);
        List<String> got = new CopyOnWriteArrayList<>();
        c.subscribe(topic, 1, d -> {
            got.add(new String(d.payload(), StandardCharsets.UTF_8));
            c.ack(d);
        });
        c.publish(topic + "/probe", "own".getBytes(StandardCharsets.UTF_8), false).get(10, TimeUnit.SECONDS); // a publish round trip (PUBACK)
        try (TestMqtt plain = TestMqtt.connect(broker.port())) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (got.isEmpty() && System.nanoTime() < end) {
                plain.publish(topic, "hello over mutual TLS");
                Thread.sleep(200); // until the subscription is in place
            }
        }
        MqttConnectionTest.until("the message over TLS", () -> got.contains("hello over mutual TLS"));
        assertEquals(0, c.failedCycles());
    }

    @Test
    void aPemCertificateAndKeyGetIn() throws Exception {
        receivesOverTls(connect(Map.of("cert-file", pki.clientCert().toString(), "key-file", pki.clientKey().toString()), "pem-node"), "tls/pem");
    }

    @Test
    void aPkcs12KeyStoreGetsIn() throws Exception {
        receivesOverTls(connect(Map.of("key-store", pki.clientKeyStore().toString(), "key-store-password", TestPki.PASSWORD), "p12-node"), "tls/p12");
    }

    @Test
    void withoutAClientCertificateTheBrokerRefusesItAndTheFailedCyclesMountUp() throws Exception {
        MqttConnection c = connect(Map.of(), "no-cert-node");
        MqttConnectionTest.until("down-after (3) failed cycles", () -> c.failedCycles() >= 3);
        assertFalse(c.connected());
        assertNotNull(c.lastProblem());
        assertTrue(c.connectedSince() == null, "it never got in");
    }

    @Test
    void aCertificateWithoutItsKeyIsAConfigurationError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ClientOptions.of(config(Map.of("cert-file", pki.clientCert().toString())),
                "half", 1 << 16, "s", new byte[0]));
        assertTrue(e.getMessage().contains("edgellm.mqtt.tls.key-file"), e.getMessage());
    }
}
