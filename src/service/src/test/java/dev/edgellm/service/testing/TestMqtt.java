package dev.edgellm.service.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A test's own MQTT client: subscribes, publishes with QoS 1 and records every message in arrival order. */
public final class TestMqtt implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A received message. */
    public record Msg(String topic, byte[] payload, boolean retained, long receivedNanos) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        public JsonNode json() {
            try {
                return JSON.readTree(payload);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private final Vertx vertx;
    private final MqttClient client;
    private final List<Msg> received = new ArrayList<>();

    private TestMqtt(Vertx vertx, MqttClient client) {
        this.vertx = vertx;
        this.client = client;
    }

    public static TestMqtt connect(int port) throws Exception {
        Vertx v = Vertx.vertx();
        MqttClientOptions o = new MqttClientOptions().setClientId("test-" + UUID.randomUUID()).setCleanSession(true).setMaxMessageSize(16 << 20)
                .setMaxInflightQueue(1000);
        MqttClient c = MqttClient.create(v, o);
        TestMqtt t = new TestMqtt(v, c);
        c.publishHandler(m -> {
            synchronized (t.received) {
                t.received.add(new Msg(m.topicName(), m.payload().getBytes(), m.isRetain(), System.nanoTime()));
                t.received.notifyAll();
            }
        });
        c.connect(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        return t;
    }

    /** Subscribes with QoS 1 and waits for the broker's answer. */
    public TestMqtt subscribe(String... filters) throws Exception {
        for (String f : filters) {
            var done = new java.util.concurrent.CompletableFuture<Void>();
            client.subscribeCompletionHandler(ack -> done.complete(null));
            client.subscribe(f, 1);
            done.get(10, TimeUnit.SECONDS);
        }
        return this;
    }

    public void publish(String topic, String payload) throws Exception {
        publish(topic, payload.getBytes(StandardCharsets.UTF_8));
    }

    /** Publishes with QoS 0 (fire and forget: only written to the socket). */
    public void publishQos0(String topic, String payload) throws Exception {
        client.publish(topic, Buffer.buffer(payload.getBytes(StandardCharsets.UTF_8)), MqttQoS.AT_MOST_ONCE, false, false)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    public void publish(String topic, byte[] payload) throws Exception {
        client.publish(topic, Buffer.buffer(payload), MqttQoS.AT_LEAST_ONCE, false, false).toCompletionStage().toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
    }

    /** Publishes with QoS 1 and the retain flag (an empty payload clears the topic's retained message). */
    public void publishRetained(String topic, String payload) throws Exception {
        client.publish(topic, Buffer.buffer(payload.getBytes(StandardCharsets.UTF_8)), MqttQoS.AT_LEAST_ONCE, false, true)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static MqttClientOptions takeOverOptions(String clientId) {
        MqttClientOptions o = new MqttClientOptions().setClientId(clientId).setCleanSession(false);
        o.setAutoAck(false);
        return o;
    }

    /**
     * Ends another client's connection: connects under its client id (the broker closes the other
     * connection, a session takeover) with its persistent session kept and nothing acknowledged, and
     * disconnects at once. The other client reconnects on its own.
     */
    public static void takeOver(int port, String clientId) throws Exception {
        Vertx v = Vertx.vertx();
        try {
            MqttClient c = MqttClient.create(v, takeOverOptions(clientId));
            c.publishHandler(m -> { }); // whatever the session holds stays unacknowledged, for its owner
            c.connect(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            c.disconnect().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } finally {
            v.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    /** Waits for the first message (received so far or later) that matches. */
    public Msg await(String what, Predicate<Msg> p, Duration timeout) throws InterruptedException {
        return awaitCount(what, p, 1, timeout).getFirst();
    }

    /** Waits until {@code n} matching messages were received; returns them in order. */
    public List<Msg> awaitCount(String what, Predicate<Msg> p, int n, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        synchronized (received) {
            while (true) {
                List<Msg> m = received.stream().filter(p).toList();
                if (m.size() >= n) {
                    return m;
                }
                long left = end - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + "; received: " + summary());
                }
                received.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    /** Every message received so far that matches, in order. */
    public List<Msg> all(Predicate<Msg> p) {
        synchronized (received) {
            return received.stream().filter(p).toList();
        }
    }

    private String summary() {
        StringBuilder sb = new StringBuilder();
        for (Msg m : received) {
            String t = m.text();
            sb.append("\n  ").append(m.topic()).append(" ").append(t.length() > 300 ? t.substring(0, 300) + "..." : t);
        }
        return sb.toString();
    }

    public static Predicate<Msg> on(String topic) {
        return m -> m.topic().equals(topic);
    }

    @Override
    public void close() throws Exception {
        try {
            if (client.isConnected()) {
                client.disconnect().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
            }
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    /** Polls {@code condition} until true or {@code timeout}. */
    public static void until(String what, Duration timeout, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
