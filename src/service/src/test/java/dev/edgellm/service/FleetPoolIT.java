package dev.edgellm.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.testing.Mosquitto;
import dev.edgellm.service.testing.PackagedApp;
import dev.edgellm.service.testing.Profiles;
import dev.edgellm.service.testing.TestMqtt;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The work pool end to end: three packaged services (distinct node ids, ports and state) share one
 * real mosquitto with a fourth whose model does not fit; later a fifth serving another model. In
 * order: one node alone (the baseline), 90 pool requests over the three (each answered once, by
 * one node, each node at least 15 %), the same with a node killed (SIGKILL) after it took requests
 * and restarted 5 s later (nothing lost, nothing twice), the node that does not fit (never
 * subscribed, answers its own topic {@code model_not_loaded}), a model-specific pool, and
 * {@code edgellm fleet} (the packaged CLI) before and after a node is killed. Figures go to
 * {@code target/fleet-run.md}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetPoolIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "Once upon a time";
    static final int MAX_TOKENS = 48;
    static final int N = 90;
    static final List<String> NODES = List.of("fleet-a", "fleet-b", "fleet-c");
    static final String NOFIT = "fleet-nofit";
    static final String OTHER = "fleet-stories";
    static final Duration WAIT = Duration.ofSeconds(240);

    Mosquitto broker;
    TestMqtt mqtt;
    Path state;
    final Map<String, PackagedApp> apps = new LinkedHashMap<>();
    final Map<String, String> figures = new LinkedHashMap<>();

    @BeforeAll
    void start() throws Exception {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
        broker = Mosquitto.start("subscribe", "unsubscribe");
        mqtt = TestMqtt.connect(broker.port()).subscribe("edgellm/#", "test/#");
        state = Files.createTempDirectory("edgellm-fleet-test");
        for (String n : NODES) {
            apps.put(n, node(n, n, Profiles.gemma(), List.of()));
        }
        apps.put(NOFIT, node(NOFIT, NOFIT, Profiles.gemma(), List.of("-Dedgellm.memory.limit=32M")));
        for (String n : NODES) {
            awaitStatus(n, "in the pool", s -> s.path("health").asText().equals("UP") && s.path("pool").path("joined").asBoolean(), 0);
        }
        awaitStatus(NOFIT, "failed: the model does not fit", s -> s.path("phase").asText().equals("FAILED"), 0);
        // Warm every node up alike (the JIT), so that no node is faster for having run first.
        for (String n : NODES) {
            for (int i = 0; i < 6; i++) {
                mqtt.publish("edgellm/" + n + "/requests", request("warm-" + n + "-" + i, "test/replies/warm/" + n + i, false));
            }
        }
        awaitAnswers("warm-", 6 * NODES.size());
    }

    @AfterAll
    void stop() throws Exception {
        for (PackagedApp a : apps.values()) {
            a.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (mqtt != null) {
            mqtt.close();
        }
        if (broker != null) {
            broker.close();
        }
        if (!figures.isEmpty()) {
            StringBuilder md = new StringBuilder("| what | figure |\n| --- | --- |\n");
            figures.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
            Files.writeString(Path.of("target", "fleet-run.md"), md.toString());
            System.out.println("fleet run figures (target/fleet-run.md):\n" + md);
        }
    }

    /** A packaged service on the test broker, as a gateway runs it: one compute thread, the Vector API backend. */
    PackagedApp node(String log, String id, Path model, List<String> extra) throws IOException {
        List<String> settings = new ArrayList<>(List.of("-Dedgellm.model.path=" + model, "-Dedgellm.backend=vector", "-Dedgellm.threads=1",
                "-Dedgellm.context=512", "-Dquarkus.http.port=0", "-Dquarkus.management.port=0", "-Dedgellm.mqtt.host=127.0.0.1",
                "-Dedgellm.mqtt.port=" + broker.port(), "-Dedgellm.node-id=" + id, "-Dedgellm.mqtt.state-dir=" + state.resolve(id),
                "-Dedgellm.mqtt.status-interval=2s", "-Dedgellm.mqtt.reply-prefixes=test/replies/", "-Dedgellm.monitor.status-interval=60s"));
        settings.addAll(extra);
        return PackagedApp.start("fleet-" + log, List.of("-Xmx256m"), settings);
    }

    JsonNode awaitStatus(String node, String what, Predicate<JsonNode> p, long sinceNanos) throws InterruptedException {
        return mqtt.await(node + " " + what, m -> m.topic().equals("edgellm/" + node + "/status") && m.receivedNanos() > sinceNanos
                && p.test(m.json()), WAIT).json();
    }

    static String request(String id, String replyTo, boolean stream) {
        return "{\"id\":\"" + id + "\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + MAX_TOKENS + ",\"temperature\":0"
                + (stream ? ",\"stream\":true" : "") + (replyTo == null ? "" : ",\"reply_to\":\"" + replyTo + "\"") + "}";
    }

    /** The final answers (not stream chunks) whose id starts with {@code tag}. */
    List<TestMqtt.Msg> answers(String tag) {
        return mqtt.all(m -> !m.topic().endsWith("/stream") && !m.topic().endsWith("/status") && !m.topic().endsWith("/requests")
                && m.text().startsWith("{\"id\":\"" + tag));
    }

    List<TestMqtt.Msg> awaitAnswers(String tag, int n) throws InterruptedException {
        return mqtt.awaitCount(n + " answers to " + tag, m -> !m.topic().endsWith("/stream") && !m.topic().endsWith("/status")
                && !m.topic().endsWith("/requests") && m.text().startsWith("{\"id\":\"" + tag), n, WAIT);
    }

    /** Tokens generated per second over a run: all completion tokens, from the first request sent to the last answer. */
    static double throughput(List<TestMqtt.Msg> answers, long startNanos) {
        long tokens = answers.stream().mapToLong(m -> m.json().path("usage").path("completion_tokens").asLong()).sum();
        long end = answers.stream().mapToLong(TestMqtt.Msg::receivedNanos).max().orElse(startNanos);
        return tokens / ((end - startNanos) / 1e9);
    }

    /** Each id answered once, ok, with the same greedy text; returns the answers per node. */
    static Map<String, Integer> checkOnceEach(List<TestMqtt.Msg> answers, String tag, int n) {
        Map<String, Integer> perId = new TreeMap<>();
        Map<String, Integer> perNode = new TreeMap<>();
        String text = null;
        for (TestMqtt.Msg m : answers) {
            JsonNode r = m.json();
            assertEquals("ok", r.path("status").asText(), r.toString());
            assertEquals(MAX_TOKENS, r.path("usage").path("completion_tokens").asInt(), r.toString());
            if (text == null) {
                text = r.path("text").asText();
                assertFalse(text.isEmpty());
            }
            assertEquals(text, r.path("text").asText(), "greedy: the same text from every node");
            perId.merge(r.path("id").asText(), 1, Integer::sum);
            perNode.merge(r.path("node").asText(), 1, Integer::sum);
        }
        for (int i = 0; i < n; i++) {
            assertEquals(1, perId.getOrDefault(tag + i, 0), "request " + tag + i + " answered exactly once; per node: " + perNode);
        }
        assertEquals(n, perId.size());
        return perNode;
    }

    @Test
    @Order(1)
    void oneNodeAloneForComparison() throws Exception {
        int n = 30;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            mqtt.publish("edgellm/fleet-a/requests", request("solo-" + i, "test/replies/solo/" + i, false));
        }
        List<TestMqtt.Msg> answers = awaitAnswers("solo-", n);
        Map<String, Integer> perNode = checkOnceEach(answers, "solo-", n);
        assertEquals(Map.of("fleet-a", n), perNode);
        figures.put("one node, " + n + " requests of " + MAX_TOKENS + " tokens on its own topic: generated tokens/s",
                String.format(Locale.ROOT, "%.1f", throughput(answers, t0)));
        figures.put("one node: wall time", String.format(Locale.ROOT, "%.1f s", (answers.stream().mapToLong(TestMqtt.Msg::receivedNanos).max()
                .orElseThrow() - t0) / 1e9));
    }

    @Test
    @Order(2)
    void ninetyPoolRequestsAreEachAnsweredOnceByOneNodeAndEveryNodeTakesItsShare() throws Exception {
        long t0 = System.nanoTime();
        for (int i = 0; i < N; i++) {
            mqtt.publish("edgellm/pool/requests", request("pool-" + i, "test/replies/pool/" + i, false));
        }
        List<TestMqtt.Msg> answers = awaitAnswers("pool-", N);
        Thread.sleep(2000); // anything answered twice would arrive now
        answers = answers("pool-");
        Map<String, Integer> perNode = checkOnceEach(answers, "pool-", N);
        assertEquals(N, answers.size(), "exactly " + N + " answers");
        for (String node : NODES) {
            assertTrue(perNode.getOrDefault(node, 0) >= 0.15 * N, node + " answered at least 15 %: " + perNode);
        }
        assertEquals(NODES.size(), perNode.size(), "only the three serving nodes answered: " + perNode);
        figures.put("three nodes, " + N + " pool requests of " + MAX_TOKENS + " tokens: generated tokens/s (all nodes)",
                String.format(Locale.ROOT, "%.1f", throughput(answers, t0)));
        figures.put("three nodes: wall time", String.format(Locale.ROOT, "%.1f s", (answers.stream().mapToLong(TestMqtt.Msg::receivedNanos).max()
                .orElseThrow() - t0) / 1e9));
        figures.put("three nodes: answers per node", perNode.toString());
    }

    @Test
    @Order(3)
    void aNodeKilledAfterTakingRequestsAndRestartedLosesNothingAndAnswersNothingTwice() throws Exception {
        String victim = "fleet-b";
        long t0 = System.nanoTime();
        for (int i = 0; i < N; i++) {
            mqtt.publish("edgellm/pool/requests", request("kill-" + i, null, true)); // answers on each node's own topic, streamed
        }
        // Kill it in the middle of a generation: it has answered a few, and is streaming one it has not answered yet.
        String prefix = "edgellm/" + victim + "/responses/";
        mqtt.awaitCount(victim + " answering a few", m -> m.topic().startsWith(prefix) && !m.topic().endsWith("/stream")
                && m.text().startsWith("{\"id\":\"kill-"), 3, WAIT);
        TestMqtt.Msg chunk = mqtt.await(victim + " streaming an unanswered request", m -> {
            if (!m.topic().startsWith(prefix) || !m.topic().endsWith("/stream") || m.json().path("seq").asInt() < 1) {
                return false;
            }
            String answerTopic = m.topic().substring(0, m.topic().length() - "/stream".length());
            return mqtt.all(TestMqtt.on(answerTopic)).isEmpty();
        }, WAIT);
        PackagedApp b = apps.get(victim);
        long killed = System.nanoTime();
        b.process().destroyForcibly(); // SIGKILL: no drain, no goodbye
        assertTrue(b.process().waitFor(10, TimeUnit.SECONDS));
        String midRequest = chunk.json().path("id").asText();
        int answeredBefore = (int) answers("kill-").stream().filter(m -> m.json().path("node").asText().equals(victim)).count();
        awaitStatus(victim, "offline (last will)", s -> s.path("status").asText().equals("offline"), killed);
        Thread.sleep(Math.max(0, 5000 - (System.nanoTime() - killed) / 1_000_000));
        long restarted = System.nanoTime();
        apps.put(victim, node(victim + "-restarted", victim, Profiles.gemma(), List.of()));
        awaitStatus(victim, "back in the pool", s -> s.path("health").asText().equals("UP") && s.path("pool").path("joined").asBoolean(), restarted);

        List<TestMqtt.Msg> answers = awaitAnswers("kill-", N);
        Thread.sleep(3000); // a duplicate would arrive now
        answers = answers("kill-");
        Map<String, Integer> perNode = checkOnceEach(answers, "kill-", N);
        assertEquals(N, answers.size(), "exactly one answer per request: none lost, none twice; per node " + perNode);
        TestMqtt.Msg mid = answers.stream().filter(m -> m.json().path("id").asText().equals(midRequest)).findFirst().orElseThrow();
        // It waited in the killed node's session: after the restart that node answered it, or handed it back to a member with room.
        assertTrue(mid.receivedNanos() > restarted, "the request it was generating when killed was answered after the restart");
        figures.put("kill -9 run: answers / requests", answers.size() + " / " + N + " (each id once)");
        figures.put("kill -9 run: " + victim + " answered before the kill / in all", answeredBefore + " / " + perNode.get(victim));
        figures.put("kill -9 run: answers per node", perNode.toString());
        figures.put("kill -9 run: wall time", String.format(Locale.ROOT, "%.1f s", (answers.stream().mapToLong(TestMqtt.Msg::receivedNanos).max()
                .orElseThrow() - t0) / 1e9));
    }

    @Test
    @Order(4)
    void aNodeWhoseModelDoesNotFitNeverJoinedThePoolYetAnswersItsOwnTopic() throws Exception {
        String log = broker.log();
        assertTrue(log.contains("edgellm-fleet-a 1 $share/edgellm/edgellm/pool/requests"), "the broker logs subscriptions:\n" + tail(log));
        assertFalse(log.lines().anyMatch(l -> l.contains("edgellm-" + NOFIT + " ") && l.contains("pool/")),
                "the node that does not fit never subscribed to a pool topic:\n" + log.lines().filter(l -> l.contains(NOFIT))
                        .collect(Collectors.joining("\n")));
        assertTrue(mqtt.all(m -> m.text().contains("\"node\":\"" + NOFIT + "\"") && m.text().contains("\"status\":\"ok\"")).isEmpty(),
                "it answered no pool request");
        List<TestMqtt.Msg> statuses = mqtt.all(TestMqtt.on("edgellm/" + NOFIT + "/status"));
        JsonNode s = statuses.getLast().json();
        assertEquals("DOWN", s.path("health").asText());
        assertFalse(s.path("pool").path("joined").asBoolean());
        assertEquals("not ready", s.path("pool").path("why_not").asText());
        mqtt.publish("edgellm/" + NOFIT + "/requests", request("own-1", null, false));
        JsonNode r = mqtt.await("its answer", TestMqtt.on("edgellm/" + NOFIT + "/responses/own-1"), WAIT).json();
        assertEquals("error", r.path("status").asText());
        assertEquals("model_not_loaded", r.path("error").path("code").asText(), r.toString());
        assertTrue(r.path("error").path("message").asText().contains("does not fit"), r.toString());
    }

    @Test
    @Order(5)
    void aModelSpecificPoolIsAnsweredOnlyByTheNodesServingThatModel() throws Exception {
        long t0 = System.nanoTime();
        apps.put(OTHER, node(OTHER, OTHER, Profiles.stories(), List.of()));
        awaitStatus(OTHER, "in the pool", s -> s.path("health").asText().equals("UP") && s.path("pool").path("joined").asBoolean(), t0);
        int n = 20;
        for (int i = 0; i < n; i++) {
            mqtt.publish("edgellm/pool/stories260K/requests", request("model-s-" + i, "test/replies/model/s" + i, false));
            mqtt.publish("edgellm/pool/gemma3-tiny-q4_0/requests", request("model-g-" + i, "test/replies/model/g" + i, false));
        }
        List<TestMqtt.Msg> stories = awaitAnswers("model-s-", n);
        List<TestMqtt.Msg> gemma = awaitAnswers("model-g-", n);
        Thread.sleep(1000);
        assertEquals(n, answers("model-s-").size());
        assertEquals(n, answers("model-g-").size());
        for (TestMqtt.Msg m : stories) {
            assertEquals(OTHER, m.json().path("node").asText(), "only the node that serves stories260K: " + m.text());
            assertEquals("stories260K", m.json().path("model").asText());
        }
        for (TestMqtt.Msg m : gemma) {
            assertTrue(NODES.contains(m.json().path("node").asText()), "only nodes that serve the tiny Gemma: " + m.text());
        }
    }

    @Test
    @Order(6)
    void edgellmFleetListsTheNodesAndShowsAKilledOneOffline() throws Exception {
        String table = fleet();
        Map<String, String> lines = byNode(table);
        for (String n : NODES) {
            assertTrue(lines.containsKey(n), table);
            assertTrue(lines.get(n).matches(n + " +ready +UP +gemma3-tiny-q4_0 +vector +[0-9.]+ +[0-9]+/8 +fits +joined [0-9]/2 +[0-9]+ s ago"),
                    lines.get(n));
        }
        assertTrue(lines.get(NOFIT).matches(NOFIT + " +failed +DOWN +- +- .* does not fit +out .*"), lines.get(NOFIT));
        assertTrue(lines.get(OTHER).contains(" stories260K "), lines.get(OTHER));

        PackagedApp c = apps.get("fleet-c");
        long killed = System.nanoTime();
        c.process().destroyForcibly();
        assertTrue(c.process().waitFor(10, TimeUnit.SECONDS));
        awaitStatus("fleet-c", "offline (last will)", s -> s.path("status").asText().equals("offline"), killed);
        String after = fleet();
        assertTrue(byNode(after).get("fleet-c").matches("fleet-c +offline \\(connection lost\\) +- .*"), after);
        assertTrue(byNode(after).get("fleet-a").contains(" ready "), after);
        JsonNode json = JSON.readTree(run(List.of("fleet", "--mqtt-port", Integer.toString(broker.port()), "--json")));
        Map<String, String> states = new HashMap<>();
        json.path("nodes").forEach(n -> states.put(n.path("node").asText(), n.path("status").asText()));
        assertEquals("offline", states.get("fleet-c"), json.toString());
        assertEquals("online", states.get("fleet-a"), json.toString());
        assertEquals(5, states.size(), "five nodes were started: " + states);
        figures.put("edgellm fleet after fleet-c was killed", "<pre>" + after.strip().replace("\n", "<br>") + "</pre>");
    }

    /**
     * fleet-a stops cleanly: it leaves the pool first (nothing more is handed to it). fleet-c was
     * killed (above) and its persistent session is still a member: mosquitto goes on handing it
     * its share, which waits there and is answered when it comes back, not before and not lost.
     */
    @Test
    @Order(7)
    void aCleanStopLeavesThePoolWhileADeadMembersShareWaitsForIt() throws Exception {
        PackagedApp a = apps.get("fleet-a");
        long stopping = System.nanoTime();
        a.close(); // SIGTERM: leave the pool, drain, offline status, disconnect
        assertFalse(a.process().isAlive());
        JsonNode offline = awaitStatus("fleet-a", "offline (stopped)", s -> s.path("status").asText().equals("offline"), stopping);
        assertEquals("stopped", offline.path("reason").asText());
        assertTrue(broker.log().lines().anyMatch(l -> l.matches("\\d+: edgellm-fleet-a \\$share/edgellm/edgellm/pool/requests")),
                "it unsubscribed from the pool:\n" + tail(broker.log()));
        int n = 12;
        for (int i = 0; i < n; i++) {
            mqtt.publish("edgellm/pool/requests", request("after-" + i, "test/replies/after/" + i, false));
        }
        awaitAnswers("after-", n / 2);
        Thread.sleep(4000);
        List<TestMqtt.Msg> before = answers("after-");
        assertTrue(before.size() < n, "the dead member's share waits in its session: " + before.size() + " of " + n + " answered");
        for (TestMqtt.Msg m : before) {
            assertTrue(List.of("fleet-b", OTHER).contains(m.json().path("node").asText()), "the running members answer: " + m.text());
        }
        long restarted = System.nanoTime();
        apps.put("fleet-c", node("fleet-c-restarted", "fleet-c", Profiles.gemma(), List.of()));
        List<TestMqtt.Msg> all = awaitAnswers("after-", n);
        Thread.sleep(2000);
        all = answers("after-");
        assertEquals(n, all.size(), "every request answered once");
        assertEquals(n, all.stream().map(m -> m.json().path("id").asText()).distinct().count());
        assertTrue(all.stream().filter(m -> m.receivedNanos() > restarted).count() == n - before.size(), "the rest came after fleet-c's restart");
        assertTrue(all.stream().noneMatch(m -> m.json().path("node").asText().equals("fleet-a")), "nothing went to the node that left");
        figures.put("a dead member's share (fleet-c killed, 12 pool requests, 3 members)", (n - before.size()) + " waited in its session until it restarted");
    }

    String fleet() throws Exception {
        return run(List.of("fleet", "--mqtt-port", Integer.toString(broker.port())));
    }

    static Map<String, String> byNode(String table) {
        Map<String, String> m = new HashMap<>();
        table.lines().skip(1).forEach(l -> m.put(l.split(" +")[0], l));
        return m;
    }

    /** The packaged CLI ({@code src/cli/target/edgellm-cli.jar}, what ./edgellm runs) with the service's JVM options. */
    static String run(List<String> args) throws Exception {
        Path jar = Path.of("../cli/target/edgellm-cli.jar").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(jar), jar + " is built before the service (the service's tests depend on the CLI module)");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Path.of("src/main/jvm/jvm.options").toAbsolutePath(), "-jar", jar.toString()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    static String tail(String log) {
        List<String> l = log.lines().toList();
        return String.join("\n", l.subList(Math.max(0, l.size() - 40), l.size()));
    }
}
