package dev.edgellm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * {@code edgellm fleet}: every EdgeLLM node on a broker, from the retained status messages on
 * {@code <prefix>/+/status} (the service keeps its status there; the broker publishes the last
 * will, {@code offline}, for a node that died): one line per node, or the status documents as JSON.
 * The operator's first command on a site. Connects with a clean session and a random client id,
 * reads what the broker holds, and leaves; nothing is published.
 */
final class FleetCommand {
    static final String USAGE = """
            fleet [--mqtt-host H] [--mqtt-port P] [--prefix edgellm] [--json] [--wait MS]
                    [--username U] [--password-file F] [--tls] [--cafile PEM]
                                                 every node on the broker: status, model, backend, tok/s, queue, fit, last seen""";

    static final ObjectMapper JSON = new ObjectMapper();

    private FleetCommand() {}

    /** One node's latest status message. */
    record Node(String id, JsonNode status) {}

    static int run(String[] argv, PrintStream out, PrintStream err, Map<String, String> env) throws IOException {
        Args a = new Args("fleet", argv, 1, Set.of("--mqtt-host", "--mqtt-port", "--prefix", "--wait", "--username", "--password-file", "--cafile"),
                Set.of("--json", "--tls"), Map.of());
        a.positional(0, "no positional arguments");
        String host = a.get("--mqtt-host", env.getOrDefault("EDGELLM_MQTT_HOST", "127.0.0.1"));
        int port = a.getInt("--mqtt-port", Integer.parseInt(env.getOrDefault("EDGELLM_MQTT_PORT", a.flag("--tls") ? "8883" : "1883")));
        String prefix = a.get("--prefix", env.getOrDefault("EDGELLM_MQTT_TOPIC_PREFIX", "edgellm"));
        long waitMs = a.getLong("--wait", 3000);
        if (port < 1 || port > 65535) {
            throw new UsageException("fleet: --mqtt-port must be 1..65535, got " + port);
        }
        if (waitMs < 100) {
            throw new UsageException("fleet: --wait must be at least 100 (milliseconds)");
        }
        if (prefix.isEmpty() || prefix.contains("+") || prefix.contains("#") || prefix.endsWith("/")) {
            throw new UsageException("fleet: --prefix '" + prefix + "' is not a topic prefix");
        }
        String user = a.get("--username", env.get("EDGELLM_MQTT_USERNAME"));
        String password = a.get("--password-file") != null ? Files.readString(Path.of(a.get("--password-file"))).strip() : env.get("EDGELLM_MQTT_PASSWORD");
        boolean tls = a.flag("--tls") || a.get("--cafile") != null;
        List<Node> nodes = read(host, port, tls, a.get("--cafile"), user, password, prefix + "/+/status", Duration.ofMillis(waitMs));
        Instant now = Instant.now();
        if (a.flag("--json")) {
            out.println(json(host + ":" + port, now, nodes).toPrettyString());
        } else {
            out.print(table(nodes, now));
        }
        if (nodes.isEmpty()) {
            err.println("edgellm: no node has a status on " + prefix + "/+/status at " + host + ":" + port
                    + " (is the prefix right? do the nodes use this broker?)");
        }
        return 0;
    }

    /**
     * Subscribes to the status topics and collects what arrives: the retained messages come at
     * once; it stops when nothing new came for a moment, or after {@code wait}.
     */
    static List<Node> read(String host, int port, boolean tls, String caFile, String user, String password, String filter, Duration wait)
            throws IOException {
        Map<String, JsonNode> latest = new TreeMap<>();
        long[] last = {System.nanoTime()};
        String uri = (tls ? "ssl://" : "tcp://") + host + ":" + port;
        try {
            MqttClient c = new MqttClient(uri, "edgellm-fleet-" + UUID.randomUUID().toString().substring(0, 8), new MemoryPersistence());
            try {
                MqttConnectOptions o = new MqttConnectOptions();
                o.setCleanSession(true);
                o.setAutomaticReconnect(false);
                o.setConnectionTimeout((int) Math.max(1, wait.toSeconds() + 2));
                o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
                if (user != null && !user.isBlank()) {
                    o.setUserName(user);
                    if (password != null) {
                        o.setPassword(password.toCharArray());
                    }
                }
                if (tls && caFile != null) {
                    o.setSocketFactory(trusting(Path.of(caFile)).getSocketFactory());
                }
                c.connect(o);
                long start = System.nanoTime();
                c.subscribe(filter, 1, (topic, msg) -> {
                    String[] levels = topic.split("/");
                    String node = levels.length >= 2 ? levels[levels.length - 2] : topic;
                    try {
                        JsonNode s = JSON.readTree(msg.getPayload());
                        if (s != null && s.isObject()) {
                            synchronized (latest) {
                                latest.put(node, s);
                                last[0] = System.nanoTime();
                            }
                        }
                    } catch (IOException e) {
                        // not a status document: not a node of ours
                    }
                });
                long quiet = Math.min(500, wait.toMillis() / 2) * 1_000_000L;
                while (System.nanoTime() - start < wait.toNanos()) {
                    Thread.sleep(50);
                    synchronized (latest) {
                        if (!latest.isEmpty() && System.nanoTime() - last[0] > quiet) {
                            break;
                        }
                    }
                }
                c.disconnect(2000);
            } finally {
                c.close(true);
            }
        } catch (MqttException e) {
            throw new IOException("cannot read from the MQTT broker at " + uri + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        List<Node> nodes = new ArrayList<>();
        synchronized (latest) {
            latest.forEach((id, s) -> nodes.add(new Node(s.path("node").asText(id), s)));
        }
        return nodes;
    }

    private static String describe(MqttException e) {
        String m = e.getMessage();
        Throwable cause = e.getCause();
        return cause != null && cause.getMessage() != null ? m + " (" + cause.getMessage() + ")" : m;
    }

    private static SSLContext trusting(Path caFile) throws IOException {
        try (InputStream in = Files.newInputStream(caFile)) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca-" + i++, cert);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot use " + caFile + " as the broker's CA: " + e.getMessage(), e);
        }
    }

    static ObjectNode json(String broker, Instant now, List<Node> nodes) {
        ObjectNode root = JSON.createObjectNode();
        root.put("broker", broker);
        root.put("read_at", now.toString());
        ArrayNode arr = root.putArray("nodes");
        for (Node n : nodes) {
            ObjectNode o = n.status().deepCopy();
            Long age = ageSeconds(n.status(), now);
            if (age != null) {
                o.put("seconds_since_seen", age);
            }
            arr.add(o);
        }
        return root;
    }

    static String table(List<Node> nodes, Instant now) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NODE", "STATUS", "HEALTH", "MODEL", "BACKEND", "TOK/S", "QUEUE", "MEMORY FIT", "POOL", "LAST SEEN"});
        for (Node n : nodes) {
            JsonNode s = n.status();
            boolean online = "online".equals(s.path("status").asText());
            String status = online ? s.path("phase").asText("?").toLowerCase(Locale.ROOT) : "offline";
            if (!online && s.hasNonNull("reason")) {
                status += " (" + s.path("reason").asText() + ")";
            }
            if (online && s.path("draining").asBoolean()) {
                status += " (draining)";
            }
            JsonNode fit = s.path("memory_fit");
            String fits = fit.isObject() ? (fit.path("fits").asBoolean() ? "fits" : "does not fit") : "-";
            JsonNode pool = s.path("pool");
            String poolText = !pool.isObject() || pool.path("group").isNull() || pool.path("group").isMissingNode() ? "-"
                    : pool.path("joined").asBoolean() ? "joined " + pool.path("held").asInt() + "/" + pool.path("max_inflight").asInt() : "out";
            Long age = ageSeconds(s, now);
            rows.add(new String[] {n.id(), status, online ? s.path("health").asText("-") : "-", text(s, "model"), text(s, "backend"),
                    online && s.has("tokens_per_second") ? String.format(Locale.ROOT, "%.1f", s.path("tokens_per_second").asDouble()) : "-",
                    online ? s.path("queue_depth").asInt() + "/" + s.path("queue_capacity").asInt() + (s.path("queue_saturated").asBoolean() ? " full" : "") : "-",
                    online ? fits : "-", online ? poolText : "-", age == null ? "-" : ago(age)});
        }
        int[] width = new int[rows.getFirst().length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(i == r.length - 1 ? r[i] : String.format("%-" + (width[i] + 2) + "s", r[i]));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    private static String text(JsonNode s, String field) {
        JsonNode v = s.get(field);
        return v == null || v.isNull() || v.asText().isEmpty() ? "-" : v.asText();
    }

    /** Seconds since the status's {@code time}, null when it has none (a last will does not). */
    static Long ageSeconds(JsonNode s, Instant now) {
        if (!s.hasNonNull("time")) {
            return null;
        }
        try {
            return Math.max(0, Duration.between(Instant.parse(s.get("time").asText()), now).toSeconds());
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    static String ago(long seconds) {
        if (seconds < 120) {
            return seconds + " s ago";
        }
        if (seconds < 7200) {
            return seconds / 60 + " min ago";
        }
        return seconds / 3600 + " h ago";
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
