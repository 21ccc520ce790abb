package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgellm.core.engine.Generator;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.Reference;
import dev.edgellm.service.testing.TestMqtt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * At-least-once with no loss, end to end: the packaged service is killed (SIGKILL) in the middle
 * of a generation it owes an answer for, and started again; mosquitto redelivers the
 * unacknowledged request to the new process, and exactly one response for the id arrives, equal
 * to the engine's greedy output. A third start (after a clean stop) answers the same request again
 * from the on-disk response cache, byte for byte, without generating.
 */
class MqttKillRestartIT {
    static final String NODE = "kill-test";
    static final String REQUESTS = "edgellm/" + NODE + "/requests";
    static final String STATUS = "edgellm/" + NODE + "/status";
    static final String ID = "kill-1";
    static final String RESPONSE = "edgellm/" + NODE + "/responses/" + ID;
    static final String PROMPT = "Once upon a time";
    static final int MAX_TOKENS = 200;
    static final Duration WAIT = Duration.ofSeconds(120);

    private final List<Process> started = new ArrayList<>();

    @Test
    void aKillMidGenerationEndsWithExactlyOneResponseAfterTheRestart() throws Exception {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
        Path state = Files.createTempDirectory("edgellm-kill-test");
        String request = """
                {"id":"%s","prompt":"%s","max_tokens":%d,"temperature":0,"stream":true}""".formatted(ID, PROMPT, MAX_TOKENS);
        try (Mosquitto broker = Mosquitto.start(); TestMqtt mqtt = TestMqtt.connect(broker.port()).subscribe("edgellm/" + NODE + "/#")) {
            long t0 = System.nanoTime();
            Process first = start(broker.port(), state, 1);
            awaitUp(mqtt, t0);
            mqtt.publish(REQUESTS, request);
            mqtt.await("the first streamed chunk", TestMqtt.on(RESPONSE + "/stream"), WAIT);
            long killed = System.nanoTime();
            first.destroyForcibly(); // SIGKILL: no shutdown hook, no goodbye to the broker
            assertTrue(first.waitFor(10, TimeUnit.SECONDS));
            assertTrue(mqtt.all(TestMqtt.on(RESPONSE)).isEmpty(), "killed before it could answer");
            mqtt.await("the last will: offline", m -> m.topic().equals(STATUS) && m.receivedNanos() > killed
                    && m.json().path("status").asText().equals("offline"), WAIT);

            long t1 = System.nanoTime();
            Process second = start(broker.port(), state, 2);
            TestMqtt.Msg answer = mqtt.await("the response after the restart", TestMqtt.on(RESPONSE), WAIT);
            assertTrue(answer.receivedNanos() > t1);
            Generator.Result expected = Reference.text(Profiles.gemma(), PROMPT, MAX_TOKENS);
            JsonNode r = answer.json();
            assertEquals("ok", r.path("status").asText(), r.toString());
            assertEquals(expected.text(), r.path("text").asText());
            assertEquals(expected.tokens().length, r.path("usage").path("completion_tokens").asInt());
            Thread.sleep(3000);
            assertEquals(1, mqtt.all(TestMqtt.on(RESPONSE)).size(), "exactly one response for the id");

            // A clean stop says offline; a third start answers the same request from the disk cache.
            long stopping = System.nanoTime();
            second.destroy();
            assertTrue(second.waitFor(30, TimeUnit.SECONDS));
            mqtt.await("offline after a clean stop", m -> m.topic().equals(STATUS) && m.receivedNanos() > stopping
                    && m.json().path("status").asText().equals("offline"), WAIT);
            long t2 = System.nanoTime();
            start(broker.port(), state, 3);
            awaitUp(mqtt, t2);
            mqtt.publish(REQUESTS, request);
            List<TestMqtt.Msg> both = mqtt.awaitCount("the answer to the duplicate", TestMqtt.on(RESPONSE), 2, WAIT);
            assertArrayEquals(answer.payload(), both.get(1).payload(), "the cached response, not a new generation");
        } finally {
            for (Process p : started) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static void awaitUp(TestMqtt mqtt, long since) throws InterruptedException {
        mqtt.await("the node's status: UP", m -> m.topic().equals(STATUS) && m.receivedNanos() > since
                && m.json().path("health").asText().equals("UP"), WAIT);
    }

    /** The packaged service (target/quarkus-app), as ./edgellm serve runs it. */
    private Process start(int brokerPort, Path state, int run) throws IOException {
        Path jar = Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath();
        assertTrue(Files.isRegularFile(jar), jar + " is built by the package phase");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Path.of("src/main/jvm/jvm.options").toAbsolutePath(),
                "-Dedgellm.model.path=" + Profiles.gemma(), "-Dedgellm.backend=scalar", "-Dedgellm.threads=2", "-Dedgellm.context=512",
                "-Dedgellm.limits.max-tokens=400", "-Dquarkus.http.port=0", "-Dquarkus.management.port=0", "-Dedgellm.monitor.status-interval=60s",
                "-Dedgellm.mqtt.host=127.0.0.1", "-Dedgellm.mqtt.port=" + brokerPort, "-Dedgellm.node-id=" + NODE,
                "-Dedgellm.mqtt.state-dir=" + state, "-Dedgellm.mqtt.stream.chunk-chars=1", "-Dedgellm.mqtt.status-interval=2s",
                "-jar", jar.toString()));
        Path log = Path.of("target", "mqtt-kill-restart-" + run + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        started.add(p);
        return p;
    }
}
