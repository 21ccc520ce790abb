package dev.edgellm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code edgellm fleet} against a real mosquitto holding retained status messages as nodes leave
 * them: an online node, one that stopped cleanly, one whose last will the broker published, and a
 * message that is no status at all. (The three-node run with the packaged service, FleetPoolIT,
 * checks it against real nodes.)
 */
class FleetCommandTest {
    static Process mosquitto;
    static int port;

    @BeforeAll
    static void broker() throws Exception {
        Path bin = Path.of("/usr/sbin/mosquitto");
        if (!Files.isExecutable(bin)) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("mosquitto is not installed: CI installs it in .ci/run");
            }
            Assumptions.abort("mosquitto is not installed (apt-get install mosquitto)");
        }
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dir = Files.createTempDirectory("fleet-test");
        Path conf = dir.resolve("mosquitto.conf");
        Files.writeString(conf, "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\n");
        mosquitto = new ProcessBuilder(bin.toString(), "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("mosquitto.log").toFile()).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                break;
            } catch (IOException e) {
                if (System.nanoTime() > end) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
        String now = Instant.now().minusSeconds(4).toString();
        MqttClient c = new MqttClient("tcp://127.0.0.1:" + port, "fleet-test-publisher", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        c.connect(o);
        c.publish("edgellm/gw-1/status", ("""
                {"node":"gw-1","status":"online","health":"UP","phase":"READY","reason":"serving","model":"gemma3-tiny-q4_0","backend":"vector",
                 "context":512,"memory_fit":{"fits":true,"summary":"fits"},"queue_depth":1,"queue_capacity":8,"queue_saturated":false,"busy":true,
                 "tokens_per_second":21.46,"jobs_completed":12,"mqtt_waiting":0,"mqtt_in_flight":1,
                 "pool":{"group":"edgellm","joined":true,"held":1,"max_inflight":2},"draining":false,"time":"%s"}""").formatted(now)
                .getBytes(StandardCharsets.UTF_8), 1, true);
        c.publish("edgellm/gw-2/status", """
                {"node":"gw-2","status":"offline","reason":"stopped","time":"2026-01-01T10:00:00Z"}""".getBytes(StandardCharsets.UTF_8), 1, true);
        c.publish("edgellm/gw-3/status", """
                {"node":"gw-3","status":"offline","reason":"connection lost"}""".getBytes(StandardCharsets.UTF_8), 1, true);
        c.publish("edgellm/gw-4/status", """
                {"node":"gw-4","status":"online","health":"DOWN","phase":"FAILED","reason":"the model does not fit","model":null,"backend":null,
                 "memory_fit":{"fits":false,"summary":"needs 2 GiB"},"queue_depth":0,"queue_capacity":8,"tokens_per_second":0.0,
                 "pool":{"group":"edgellm","joined":false,"held":0,"max_inflight":2,"why_not":"not ready"},"time":"%s"}""".formatted(now)
                .getBytes(StandardCharsets.UTF_8), 1, true);
        c.publish("edgellm/noise/status", "not json".getBytes(StandardCharsets.UTF_8), 1, true);
        c.disconnect();
        c.close();
    }

    @AfterAll
    static void stop() throws Exception {
        if (mosquitto != null) {
            mosquitto.destroy();
            mosquitto.waitFor(5, TimeUnit.SECONDS);
        }
    }

    record Run(int code, String out, String err) {}

    static Run fleet(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] argv = new String[args.length + 1];
        argv[0] = "fleet";
        System.arraycopy(args, 0, argv, 1, args.length);
        int code = Main.guarded(new PrintStream(err, true, StandardCharsets.UTF_8),
                () -> FleetCommand.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), Map.of()));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void oneLinePerNodeWithItsStateModelBackendSpeedQueueFitAndLastSeen() {
        Run r = fleet("--mqtt-port", Integer.toString(port));
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(5, lines.size(), r.out());
        assertTrue(lines.get(0).matches("NODE +STATUS +HEALTH +MODEL +BACKEND +TOK/S +QUEUE +MEMORY FIT +POOL +LAST SEEN"), lines.get(0));
        assertTrue(lines.get(1).matches("gw-1 +ready +UP +gemma3-tiny-q4_0 +vector +21\\.5 +1/8 +fits +joined 1/2 +[0-9]+ s ago"), lines.get(1));
        assertTrue(lines.get(2).matches("gw-2 +offline \\(stopped\\) +- +- +- +- +- +- +- +[0-9]+ h ago"), lines.get(2));
        assertTrue(lines.get(3).matches("gw-3 +offline \\(connection lost\\) +- +- +- +- +- +- +- +-"), lines.get(3));
        assertTrue(lines.get(4).matches("gw-4 +failed +DOWN +- +- +0\\.0 +0/8 +does not fit +out +[0-9]+ s ago"), lines.get(4));
    }

    @Test
    void jsonGivesTheStatusDocumentsWithTheirAge() throws Exception {
        Run r = fleet("--mqtt-port", Integer.toString(port), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = FleetCommand.JSON.readTree(r.out());
        assertEquals("127.0.0.1:" + port, j.path("broker").asText());
        JsonNode nodes = j.path("nodes");
        assertEquals(4, nodes.size(), "the message that is no status is left out");
        assertEquals("gw-1", nodes.get(0).path("node").asText());
        assertEquals("vector", nodes.get(0).path("backend").asText());
        assertTrue(nodes.get(0).path("seconds_since_seen").asLong() >= 4);
        assertEquals("offline", nodes.get(2).path("status").asText());
        assertTrue(nodes.get(2).path("seconds_since_seen").isMissingNode(), "a last will has no time");
    }

    @Test
    void anotherPrefixHasNoNodesAndSaysSo() {
        Run r = fleet("--mqtt-port", Integer.toString(port), "--prefix", "elsewhere", "--wait", "500");
        assertEquals(0, r.code());
        assertEquals(1, r.out().lines().count(), "the header only");
        assertTrue(r.err().contains("no node has a status on elsewhere/+/status"), r.err());
    }

    @Test
    void noBrokerIsOneClearLineAndExitCode1() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Run r = fleet("--mqtt-port", Integer.toString(closed), "--wait", "500");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("edgellm: I/O error: cannot read from the MQTT broker at tcp://127.0.0.1:" + closed), r.err());
        assertEquals(2, fleet("--mqtt-port", "nope").code(), "a bad command line");
    }
}
