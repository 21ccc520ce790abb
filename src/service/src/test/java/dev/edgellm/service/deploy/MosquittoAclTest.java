package dev.edgellm.service.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.mqtt.MqttQoS;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.mqtt.MqttClient;
import io.vertx.mqtt.MqttClientOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code k8s/mosquitto/acl} as a real mosquitto applies it (with a password file, no anonymous
 * clients): two nodes share the work pool through shared subscriptions, read each other's status
 * and hand work back on the pool topics, but cannot write to each other's request topics; a client
 * reaches the pool and reads only its own replies; the operator reads statuses only.
 */
class MosquittoAclTest {
    static final String PASSWORD = "acl-test-password";
    static Process mosquitto;
    static int port;
    static Vertx vertx;

    @BeforeAll
    static void start() throws Exception {
        Path bin = Path.of("/usr/sbin/mosquitto");
        Path passwd = Path.of("/usr/bin/mosquitto_passwd");
        if (!Files.isExecutable(bin) || !Files.isExecutable(passwd)) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("mosquitto is not installed: CI installs it in .ci/run");
            }
            Assumptions.abort("mosquitto is not installed (apt-get install mosquitto)");
        }
        Path project = Path.of(System.getenv().getOrDefault("EDGELLM_PROJECT_DIR", "../.."));
        Path acl = project.resolve("k8s/mosquitto/acl").toAbsolutePath().normalize();
        Path dir = Files.createTempDirectory("mosquitto-acl");
        Path pw = dir.resolve("passwd");
        Files.writeString(pw, "");
        for (String user : List.of("gw-1", "gw-2", "plant-hmi", "edgellm-operator")) {
            Process p = new ProcessBuilder(passwd.toString(), "-b", pw.toString(), user, PASSWORD).redirectErrorStream(true).start();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("mosquitto.conf"), """
                user root
                listener %d 127.0.0.1
                allow_anonymous false
                password_file %s
                acl_file %s
                persistence false
                """.formatted(port, pw, acl));
        mosquitto = new ProcessBuilder(bin.toString(), "-c", dir.resolve("mosquitto.conf").toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("out.log").toFile()).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                break;
            } catch (IOException e) {
                if (!mosquitto.isAlive() || System.nanoTime() > end) {
                    throw new IOException("mosquitto did not start: " + Files.readString(dir.resolve("out.log")), e);
                }
                Thread.sleep(50);
            }
        }
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stop() throws Exception {
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
        if (mosquitto != null) {
            mosquitto.destroy();
            mosquitto.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** A logged-in client that records what it receives. */
    record Client(MqttClient mqtt, List<String> received) {
        static Client connect(String user) throws Exception {
            MqttClient c = MqttClient.create(vertx, new MqttClientOptions().setClientId(user + "-" + System.nanoTime()).setUsername(user)
                    .setPassword(PASSWORD).setCleanSession(true));
            List<String> got = new CopyOnWriteArrayList<>();
            c.publishHandler(m -> got.add(m.topicName() + " " + m.payload().toString(StandardCharsets.UTF_8)));
            c.connect(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            return new Client(c, got);
        }

        void subscribe(String... filters) throws Exception {
            for (String f : filters) {
                CompletableFuture<Void> done = new CompletableFuture<>();
                mqtt.subscribeCompletionHandler(ack -> done.complete(null));
                mqtt.subscribe(f, 1);
                done.get(10, TimeUnit.SECONDS);
            }
        }

        void publish(String topic, String payload, boolean retain) throws Exception {
            mqtt.publish(topic, Buffer.buffer(payload), MqttQoS.AT_LEAST_ONCE, false, retain).toCompletionStage().toCompletableFuture()
                    .get(10, TimeUnit.SECONDS);
        }

        boolean got(String line) {
            return received.contains(line);
        }
    }

    static void settle() throws InterruptedException {
        Thread.sleep(700);
    }

    @Test
    void nodesShareThePoolReadStatusesAndHandWorkBackButCannotWriteToOtherNodes() throws Exception {
        Client gw1 = Client.connect("gw-1");
        Client gw2 = Client.connect("gw-2");
        Client hmi = Client.connect("plant-hmi");
        for (Client n : List.of(gw1, gw2)) {
            n.subscribe("$share/edgellm/edgellm/pool/requests", "$share/edgellm/edgellm/pool/m1/requests", "edgellm/+/status");
        }
        gw1.subscribe("edgellm/gw-1/requests");
        gw2.subscribe("edgellm/gw-2/requests");
        for (int i = 0; i < 4; i++) {
            hmi.publish("edgellm/pool/requests", "p" + i, false);
            hmi.publish("edgellm/pool/m1/requests", "m" + i, false);
        }
        settle();
        long pool = gw1.received().stream().filter(l -> l.startsWith("edgellm/pool/")).count();
        long pool2 = gw2.received().stream().filter(l -> l.startsWith("edgellm/pool/")).count();
        assertEquals(8, pool + pool2, "each pool request to one node: " + gw1.received() + " / " + gw2.received());
        assertTrue(pool > 0 && pool2 > 0, "both nodes take their share");

        gw2.publish("edgellm/gw-2/status", "{\"status\":\"online\"}", true);
        gw1.publish("edgellm/pool/requests", "handed-back", false);
        gw1.publish("edgellm/gw-2/requests", "forged", false);
        settle();
        assertTrue(gw1.got("edgellm/gw-2/status {\"status\":\"online\"}"), "a node reads the others' status: " + gw1.received());
        assertTrue(gw1.got("edgellm/pool/requests handed-back") || gw2.got("edgellm/pool/requests handed-back"),
                "a node hands work back to the pool");
        assertFalse(gw2.got("edgellm/gw-2/requests forged"), "a node cannot send requests to another node: " + gw2.received());
        disconnect(gw1, gw2, hmi);
    }

    @Test
    void aClientReadsOnlyItsRepliesAndTheOperatorOnlyTheStatuses() throws Exception {
        Client gw1 = Client.connect("gw-1");
        Client hmi = Client.connect("plant-hmi");
        Client op = Client.connect("edgellm-operator");
        hmi.subscribe("edgellm/replies/#", "edgellm/pool/requests");
        op.subscribe("edgellm/+/status", "edgellm/pool/requests", "edgellm/replies/#");
        gw1.publish("edgellm/gw-1/status", "{\"status\":\"online\",\"node\":\"gw-1\"}", true);
        gw1.publish("edgellm/replies/plant-hmi/r1", "mine", false);
        gw1.publish("edgellm/replies/other-app/r2", "not mine", false);
        op.publish("edgellm/pool/requests", "from the operator", false);
        hmi.publish("edgellm/pool/requests", "a request", false);
        settle();
        assertTrue(hmi.got("edgellm/replies/plant-hmi/r1 mine"), hmi.received().toString());
        assertFalse(hmi.got("edgellm/replies/other-app/r2 not mine"), "another client's replies: " + hmi.received());
        assertTrue(hmi.received().stream().noneMatch(l -> l.startsWith("edgellm/pool/")), "a client does not read requests: " + hmi.received());
        assertTrue(op.got("edgellm/gw-1/status {\"status\":\"online\",\"node\":\"gw-1\"}"), op.received().toString());
        assertTrue(op.received().stream().allMatch(l -> l.matches("edgellm/[^/]+/status .*")), "the operator reads the statuses only: " + op.received());
        disconnect(gw1, hmi, op);
    }

    static void disconnect(Client... clients) throws Exception {
        for (Client c : clients) {
            c.mqtt().disconnect().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }
}
