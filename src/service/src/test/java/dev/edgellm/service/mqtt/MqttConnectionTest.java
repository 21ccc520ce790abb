package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.mqtt.MqttClientOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The connection on its own, against the in-process broker: each subscription's messages go to its
 * own handler (what later features' subscriptions rely on), a publish completes on the broker's
 * PUBACK, a message is acknowledged only when its handler says so (one not acknowledged comes again
 * on the next connection of the same session), and connect listeners run on every connection.
 */
class MqttConnectionTest {
    Vertx vertx;
    EmbeddedBroker broker;
    final List<MqttConnection> connections = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        Path data = Files.createTempDirectory("mqtt-connection-test");
        broker = EmbeddedBroker.start("127.0.0.1", 0, data, 1 << 20, Optional.empty());
    }

    @AfterEach
    void stop() throws Exception {
        for (MqttConnection c : connections) {
            c.stop().get(5, TimeUnit.SECONDS);
        }
        broker.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    MqttConnection connection(String clientId, boolean cleanSession) {
        MqttClientOptions o = new MqttClientOptions().setClientId(clientId).setCleanSession(cleanSession);
        o.setAutoAck(false);
        MqttConnection c = new MqttConnection(vertx, o, new MqttConnection.Settings(broker.connectHost(), broker.port(), MqttQoS.AT_LEAST_ONCE,
                Duration.ofMillis(100), Duration.ofMillis(500), 3, 1 << 20, 2), new MqttMetrics());
        connections.add(c);
        return c;
    }

    static void until(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static String text(Delivery d) {
        return new String(d.payload(), StandardCharsets.UTF_8);
    }

    @Test
    void eachSubscriptionsMessagesGoToItsOwnHandlerAndTheRestToTheFallback() throws Exception {
        MqttConnection node = connection("node", true);
        List<String> requests = new CopyOnWriteArrayList<>();
        List<String> sensors = new CopyOnWriteArrayList<>();
        List<String> other = new CopyOnWriteArrayList<>();
        List<Boolean> connects = new CopyOnWriteArrayList<>();
        node.subscribe("edgellm/n/requests", 1, d -> {
            requests.add(d.topic() + " " + text(d));
            node.ack(d);
        });
        node.subscribe("site/+/temp", 1, d -> {
            sensors.add(d.topic() + " " + text(d));
            node.ack(d);
        });
        node.fallback(d -> {
            other.add(d.topic());
            node.ack(d);
        });
        node.onConnect(connects::add);
        node.start();
        until("connected", node::connected);
        // at least once: Moquette sometimes closes a new broker's first connection right after its
        // CONNACK ("SUBSCRIBE received on already closed connection"), and the reconnect calls again
        until("the connect listener", () -> !connects.isEmpty());

        MqttConnection sender = connection("sender", true);
        sender.start();
        until("the sender connected", sender::connected);
        Thread.sleep(300); // the node's subscriptions are in place
        sender.publish("edgellm/n/requests", "r1".getBytes(StandardCharsets.UTF_8), false).get(5, TimeUnit.SECONDS);
        sender.publish("site/boiler-1/temp", "71.5".getBytes(StandardCharsets.UTF_8), false).get(5, TimeUnit.SECONDS);
        sender.publish("site/boiler-1/pressure", "2.0".getBytes(StandardCharsets.UTF_8), false).get(5, TimeUnit.SECONDS);
        until("both messages", () -> requests.size() == 1 && sensors.size() == 1);
        assertEquals(List.of("edgellm/n/requests r1"), requests);
        assertEquals(List.of("site/boiler-1/temp 71.5"), sensors);
        assertTrue(other.isEmpty(), "nothing subscribed to the pressure: " + other);
        assertTrue(connects.stream().noneMatch(present -> present), "a clean session, on every connect: " + connects);
    }

    @Test
    void aMessageNotAcknowledgedComesAgainOnTheNextConnectionAndAnAcknowledgedOneDoesNot() throws Exception {
        MqttConnection first = connection("persistent-node", false);
        List<String> got = new CopyOnWriteArrayList<>();
        first.subscribe("jobs", 1, d -> {
            got.add(text(d));
            if (text(d).equals("ack me")) {
                first.ack(d);
            }
        });
        first.start();
        until("connected", first::connected);
        MqttConnection sender = connection("sender-2", true);
        sender.start();
        until("the sender connected", sender::connected);
        Thread.sleep(300);
        sender.publish("jobs", "ack me".getBytes(StandardCharsets.UTF_8), false).get(5, TimeUnit.SECONDS);
        sender.publish("jobs", "keep me".getBytes(StandardCharsets.UTF_8), false).get(5, TimeUnit.SECONDS);
        until("both", () -> got.size() == 2);
        Thread.sleep(300); // the acknowledgement is out
        first.stop().get(5, TimeUnit.SECONDS);
        connections.remove(first);

        MqttConnection second = connection("persistent-node", false);
        List<String> again = new CopyOnWriteArrayList<>();
        List<Boolean> resumed = new CopyOnWriteArrayList<>();
        second.onConnect(resumed::add);
        second.subscribe("jobs", 1, d -> {
            again.add(text(d));
            second.ack(d);
        });
        second.start();
        until("the unacknowledged message again", () -> again.contains("keep me"));
        Thread.sleep(500);
        assertEquals(List.of("keep me"), again, "only the one never acknowledged");
        assertEquals(List.of(true), resumed, "the session was resumed");
    }

    @Test
    void unsubscribingStopsTheHandlersMessages() throws Exception {
        MqttConnection node = connection("node-3", true);
        List<String> got = new CopyOnWriteArrayList<>();
        node.subscribe("a/b", 1, d -> {
            got.add(text(d));
            node.ack(d);
        });
        node.start();
        until("connected", node::connected);
        MqttConnection sender = connection("sender-3", true);
        sender.start();
        until("the sender connected", sender::connected);
        Thread.sleep(300);
        sender.publish("a/b", "before".getBytes(StandardCharsets.UTF_8), false).get(5, TimeUnit.SECONDS);
        until("the first", () -> got.size() == 1);
        node.unsubscribe(List.of("a/b")).get(5, TimeUnit.SECONDS);
        sender.publish("a/b", "after".getBytes(StandardCharsets.UTF_8), false).get(5, TimeUnit.SECONDS);
        Thread.sleep(500);
        assertEquals(List.of("before"), got);
    }
}
