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
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The abuse run of issue 13, against the packaged service as a small gateway runs it (jvm.options,
 * heap capped at 256 MB, the Gemma 3 tiny model with its 262k vocabulary, a real mosquitto), all on
 * loopback, stopping by itself in about two minutes:
 * <ol>
 *   <li>8 parallel 1 MB prompts;</li>
 *   <li>200 slow-body connections (a byte every 2 s) held for 30 s, reopened when cut;</li>
 *   <li>a 200 MB MQTT publish to the node's request topic (mosquitto set without a size limit, so
 *       it reaches the node);</li>
 *   <li>3,000 QoS 0 requests;</li>
 *   <li>{@code top_k} at the vocabulary size.</li>
 * </ol>
 * Throughout, a dedicated client probes {@code /q/health/live} every 250 ms and every answer must
 * come within 1 s; after each phase a normal request gets its answer; the process is the same one
 * at the end (never restarted, no OutOfMemoryError). The figures go to {@code target/abuse-run.md}
 * (README, "Security").
 */
class AbuseRunIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String NODE = "abuse";
    static final String KEY = Profiles.API_KEY;
    static final Duration PROBE_LIMIT = Duration.ofSeconds(1);

    private final Map<String, String> figures = new LinkedHashMap<>();
    private int apiPort;
    private int managementPort;
    private HttpClient http;

    @Test
    void theServiceSurvivesTheAbuseRunAndKeepsAnswering() throws Exception {
        String why = Mosquitto.unavailable();
        Assumptions.assumeTrue(why == null, why);
        apiPort = Mosquitto.freePort();
        managementPort = Mosquitto.freePort();
        // HTTP/1.1, as the OpenAI SDKs and curl talk to it
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        Path state = Files.createTempDirectory("edgellm-abuse");
        long t0 = System.nanoTime();
        try (Mosquitto broker = Mosquitto.start();
             PackagedApp app = PackagedApp.start("abuse-run", List.of("-Xmx256m"), List.of(
                     "-Dedgellm.model.path=" + Profiles.gemma(), "-Dedgellm.backend=scalar", "-Dedgellm.threads=1",
                     "-Dedgellm.context=512", "-Dedgellm.limits.max-tokens=64", "-Dedgellm.limits.max-request-time=20s",
                     "-Dquarkus.http.port=" + apiPort, "-Dquarkus.management.port=" + managementPort, "-Dedgellm.api.keys=" + KEY,
                     "-Dedgellm.api.body-timeout=5s", "-Dedgellm.mqtt.host=127.0.0.1", "-Dedgellm.mqtt.port=" + broker.port(),
                     "-Dedgellm.node-id=" + NODE, "-Dedgellm.mqtt.state-dir=" + state, "-Dedgellm.mqtt.reconnect.min-backoff=200ms",
                     "-Dedgellm.mqtt.reconnect.max-backoff=2s", "-Dedgellm.monitor.status-interval=60s"))) {
            long pid = app.process().pid();
            awaitUp(app);
            figures.put("start to ready", seconds(System.nanoTime() - t0));
            try (LivenessProbe probe = new LivenessProbe(managementPort); TestMqtt mqtt = TestMqtt.connect(broker.port())) {
                mqtt.subscribe("edgellm/replies/abuse/#");
                normalRequest("before");

                phase("8 parallel 1 MB prompts", this::bigPrompts);
                normalRequest("after the big prompts");
                phase("200 slow-body connections for 30 s", this::slowBodies);
                normalRequest("after the slow bodies");
                phase("a 200 MB MQTT publish", () -> bigPublish(broker.port()));
                normalRequest("after the 200 MB publish");
                phase("3,000 QoS 0 requests", () -> qos0Flood(mqtt));
                normalRequest("after the QoS 0 flood");
                phase("top_k at the vocabulary size", this::topKAtVocabulary);
                normalRequest("after top_k");

                probe.stop();
                figures.put("liveness probes", probe.count() + ", every one answered (UP) within " + PROBE_LIMIT.toMillis() + " ms: "
                        + (probe.failures() == 0));
                figures.put("liveness latency", "median " + probe.percentile(50) + " ms, p99 " + probe.percentile(99) + " ms, max "
                        + probe.percentile(100) + " ms");
                assertEquals(0, probe.failures(), "liveness answered UP within 1 s every time; failures: " + probe.failureLog());
            }
            assertTrue(app.process().isAlive(), "still running");
            assertEquals(pid, app.process().pid(), "the same process: never restarted");
            assertFalse(app.log().contains("OutOfMemoryError"), "no OutOfMemoryError in the log");
            figures.put("whole run", seconds(System.nanoTime() - t0));
        } finally {
            write();
        }
    }

    // ---- phases ------------------------------------------------------------------------------------

    private interface Phase {
        void run() throws Exception;
    }

    private void phase(String name, Phase p) throws Exception {
        long t = System.nanoTime();
        try {
            p.run();
        } finally {
            figures.put(name + ": time", seconds(System.nanoTime() - t));
            figures.put(name + ": open API connections after it", Long.toString(metric("http_server_active_connections{server_port=\"" + apiPort + "\"}")));
        }
    }

    private void bigPrompts() throws Exception {
        String text = "word ".repeat(1024 * 1024 / 5);
        byte[] body = ("{\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}],\"max_tokens\":8}").getBytes(StandardCharsets.UTF_8);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> answers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                answers.add(pool.submit(() -> post("/v1/chat/completions", body).statusCode()));
            }
            Map<Integer, Integer> statuses = new LinkedHashMap<>();
            for (Future<Integer> f : answers) {
                statuses.merge(f.get(60, TimeUnit.SECONDS), 1, Integer::sum);
            }
            figures.put("8 parallel 1 MB prompts: answers", statuses.toString());
            assertEquals(Map.of(413, 8), statuses, "every one refused by its length, before buffering");
        } finally {
            pool.shutdownNow();
        }
        // just under the body limit: refused by its size before the tokenizer sees it
        String near = "word ".repeat(120 * 1024 / 5);
        HttpResponse<String> r = post("/v1/chat/completions",
                ("{\"messages\":[{\"role\":\"user\",\"content\":\"" + near + "\"}],\"max_tokens\":8}").getBytes(StandardCharsets.UTF_8));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("edgellm.limits.max-prompt-bytes"), r.body());
    }

    private void slowBodies() throws Exception {
        int n = 200;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        AtomicInteger opened = new AtomicInteger();
        AtomicInteger cut = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
        Map<String, Integer> errors = new java.util.concurrent.ConcurrentHashMap<>();
        byte[] head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer " + KEY
                + "\r\nContent-Length: 100000\r\n\r\n{").getBytes(StandardCharsets.US_ASCII);
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> Thread.ofPlatform().daemon(true).unstarted(r));
        List<Future<?>> workers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            workers.add(pool.submit(() -> {
                while (System.nanoTime() < end) {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress("127.0.0.1", apiPort), 2000);
                        sockets.add(s);
                        opened.incrementAndGet();
                        OutputStream out = s.getOutputStream();
                        out.write(head);
                        out.flush();
                        s.setSoTimeout(2000);
                        InputStream in = s.getInputStream();
                        while (System.nanoTime() < end) {
                            try {
                                if (in.read() < 0) {
                                    break; // closed by the server
                                }
                                cut.incrementAndGet(); // the 408 answer
                                break;
                            } catch (java.net.SocketTimeoutException e) {
                                out.write(' '); // a byte every 2 s
                                out.flush();
                            }
                        }
                    } catch (IOException e) {
                        refused.incrementAndGet();
                        errors.merge(e.getClass().getSimpleName() + ": " + e.getMessage(), 1, Integer::sum);
                        sleepQuietly(200);
                    }
                }
                return null;
            }));
        }
        Thread.sleep(15_000);
        normalRequest("during the slow bodies");
        for (Future<?> w : workers) {
            w.get(60, TimeUnit.SECONDS);
        }
        pool.shutdownNow();
        figures.put("200 slow-body connections for 30 s: connections opened", Integer.toString(opened.get()));
        figures.put("200 slow-body connections for 30 s: cut by the body timeout (408)", Integer.toString(cut.get()));
        figures.put("200 slow-body connections for 30 s: refused or reset", refused.get() + (errors.isEmpty() ? "" : " " + errors));
        assertTrue(cut.get() >= n, "the body timeout cut every slow connection: " + cut.get());
    }

    private void bigPublish(int brokerPort) throws Exception {
        long size = 200L * 1024 * 1024;
        String topic = "edgellm/" + NODE + "/requests";
        long before = metric("edgellm_mqtt_oversize_messages_total");
        try (Socket s = new Socket("127.0.0.1", brokerPort)) {
            OutputStream out = new java.io.BufferedOutputStream(s.getOutputStream(), 1 << 16);
            byte[] id = "abuse-publisher".getBytes(StandardCharsets.US_ASCII);
            java.io.ByteArrayOutputStream connect = new java.io.ByteArrayOutputStream();
            connect.write(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, (byte) id.length});
            connect.write(id);
            out.write(0x10);
            writeLength(out, connect.size());
            connect.writeTo(out);
            out.flush();
            byte[] connack = s.getInputStream().readNBytes(4);
            assertEquals(0, connack[3], "connected");
            byte[] t = topic.getBytes(StandardCharsets.US_ASCII);
            out.write(0x30); // PUBLISH, QoS 0
            writeLength(out, 2 + t.length + size);
            out.write(t.length >> 8);
            out.write(t.length);
            out.write(t);
            byte[] chunk = new byte[1 << 20];
            java.util.Arrays.fill(chunk, (byte) 'x');
            for (long sent = 0; sent < size; sent += chunk.length) {
                out.write(chunk, 0, (int) Math.min(chunk.length, size - sent));
            }
            out.write(new byte[] {(byte) 0xE0, 0}); // DISCONNECT
            out.flush();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (metric("edgellm_mqtt_oversize_messages_total") <= before && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(metric("edgellm_mqtt_oversize_messages_total") > before, "the node saw the oversize message (and did not read it)");
        while (!mqttConnected() && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(mqttConnected(), "the node is connected to the broker again");
        figures.put("a 200 MB MQTT publish: outcome", "not read (over edgellm.mqtt.max-payload + headers), connection dropped and re-established");
    }

    private void qos0Flood(TestMqtt mqtt) throws Exception {
        int n = 3000;
        long droppedBefore = metric("edgellm_requests_total{intake=\"mqtt\",outcome=\"dropped\"}");
        int maxWaiting = 0;
        for (int i = 0; i < n; i++) {
            mqtt.publishQos0("edgellm/" + NODE + "/requests", "{\"id\":\"q" + i + "\",\"prompt\":\"Hi\",\"max_tokens\":1,\"temperature\":0,"
                    + "\"reply_to\":\"edgellm/replies/abuse/" + i + "\"}");
            if (i % 500 == 0) {
                maxWaiting = Math.max(maxWaiting, system().path("mqtt").path("waiting").asInt());
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (system().path("mqtt").path("waiting").asInt() > 0 && System.nanoTime() < deadline) {
            maxWaiting = Math.max(maxWaiting, system().path("mqtt").path("waiting").asInt());
            Thread.sleep(200);
        }
        // The inbox is empty once its last requests are in the engine queue: those are answered
        // before a normal request finds room (a full queue answers 429, as it should).
        while (metric("edgellm_queue_depth") > 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        long dropped = metric("edgellm_requests_total{intake=\"mqtt\",outcome=\"dropped\"}") - droppedBefore;
        int answers = mqtt.all(m -> m.topic().startsWith("edgellm/replies/abuse/")).size();
        figures.put("3,000 QoS 0 requests: dropped over the inbox bound (answered overloaded)", Long.toString(dropped));
        figures.put("3,000 QoS 0 requests: answers received (ok or error)", Integer.toString(answers));
        figures.put("3,000 QoS 0 requests: most waiting in the inbox", Integer.toString(maxWaiting));
        assertTrue(maxWaiting <= 65, "the inbox stays bounded (64 and the one waiting for a place): " + maxWaiting);
        assertTrue(dropped > 0, "a flood over the bound is dropped and counted");
    }

    private void topKAtVocabulary() throws Exception {
        for (int k : new int[] {262_144, 262_143}) {
            long t = System.nanoTime();
            HttpResponse<String> r = post("/v1/completions", ("{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":1,\"top_p\":1,"
                    + "\"min_p\":0,\"seed\":1,\"top_k\":" + k + "}").getBytes(StandardCharsets.UTF_8));
            assertEquals(200, r.statusCode(), r.body());
            assertFalse(r.body().contains("truncated_by"), "8 tokens well within max-request-time (20 s): " + r.body());
            figures.put("top_k " + k + ": 8 tokens in", seconds(System.nanoTime() - t));
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private void normalRequest(String when) throws Exception {
        long t = System.nanoTime();
        HttpResponse<String> r = post("/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],\"max_tokens\":8,\"temperature\":0}".getBytes(StandardCharsets.UTF_8));
        assertEquals(200, r.statusCode(), "a normal request " + when + ": " + r.body());
        assertEquals("chat.completion", JSON.readTree(r.body()).path("object").asText());
        figures.put("normal request " + when, seconds(System.nanoTime() - t));
    }

    private HttpResponse<String> post(String path, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode system() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/api/system"))
                .header("Authorization", "Bearer " + KEY).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private boolean mqttConnected() throws Exception {
        return system().path("mqtt").path("connected").asBoolean();
    }

    private long metric(String name) throws Exception {
        String m = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + "/q/metrics")).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        return m.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{") && !name.contains("{"))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private void awaitUp(PackagedApp app) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            assertTrue(app.process().isAlive(), app.log());
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200 && mqttConnected()) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new AssertionError("the service did not get ready: " + app.log());
    }

    private static void writeLength(OutputStream out, long n) throws IOException {
        do {
            int b = (int) (n % 128);
            n /= 128;
            out.write(n > 0 ? b | 0x80 : b);
        } while (n > 0);
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }

    private void write() throws IOException {
        StringBuilder sb = new StringBuilder("| what | figure |\n| --- | --- |\n");
        figures.forEach((k, v) -> sb.append("| ").append(k).append(" | ").append(v).append(" |\n"));
        Files.writeString(Path.of("target", "abuse-run.md"), sb.toString());
        System.out.println("abuse run:\n" + sb);
    }

    /** A dedicated client that asks for liveness every 250 ms, each within 1 s. */
    static final class LivenessProbe implements AutoCloseable {
        private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(PROBE_LIMIT).build();
        private final List<Long> millis = Collections.synchronizedList(new ArrayList<>());
        private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        private final AtomicLong probes = new AtomicLong();
        private volatile boolean running = true;
        private final Thread thread;

        LivenessProbe(int port) {
            URI uri = URI.create("http://127.0.0.1:" + port + "/q/health/live");
            thread = Thread.ofPlatform().name("liveness-probe").daemon(true).start(() -> {
                while (running) {
                    long t = System.nanoTime();
                    try {
                        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(PROBE_LIMIT).build(), HttpResponse.BodyHandlers.ofString());
                        long ms = (System.nanoTime() - t) / 1_000_000;
                        millis.add(ms);
                        if (r.statusCode() != 200 || ms > PROBE_LIMIT.toMillis()) {
                            failures.add(r.statusCode() + " after " + ms + " ms");
                        }
                    } catch (Exception e) {
                        failures.add(e + " after " + (System.nanoTime() - t) / 1_000_000 + " ms");
                    }
                    probes.incrementAndGet();
                    sleepQuietly(250);
                }
            });
        }

        long count() {
            return probes.get();
        }

        int failures() {
            return failures.size();
        }

        String failureLog() {
            return failures.toString();
        }

        long percentile(int p) {
            List<Long> s = new ArrayList<>(millis);
            Collections.sort(s);
            return s.isEmpty() ? -1 : s.get(Math.min(s.size() - 1, (int) Math.ceil(p / 100.0 * s.size()) - (p == 0 ? 0 : 1)));
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(5000);
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}
