package dev.edgellm.service.testing;

import dev.edgellm.core.fit.MemoryFit;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.model.ModelConfig;
import dev.edgellm.core.testing.SharedFiles;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test configurations. Each profile gives its whole configuration (not only the {@code %test}
 * profile) because the packaged jar of the {@code ...IT} tests runs with the prod profile and gets
 * exactly these overrides. Tests of one profile share one running application.
 */
public final class Profiles {
    private Profiles() {}

    /** What every profile shares: scalar backend, small queue and limits, fast scheduled jobs. */
    static Map<String, String> common() {
        Map<String, String> m = new HashMap<>();
        m.put("edgellm.backend", "scalar");
        m.put("edgellm.threads", "2");
        m.put("edgellm.context", "512");
        m.put("edgellm.queue.size", "1");
        m.put("edgellm.queue.retry-after", "3s");
        m.put("edgellm.limits.max-prompt-tokens", "200");
        m.put("edgellm.limits.max-tokens", "400");
        m.put("edgellm.limits.default-max-tokens", "16");
        m.put("edgellm.monitor.memory-interval", "2s");
        m.put("edgellm.monitor.status-interval", "3s");
        m.put("edgellm.watchdog.stall-timeout", "60s");
        m.put("quarkus.http.limits.max-body-size", "64K");
        // No broker (embedded or not) unless a profile asks for MQTT: apps under test must not share port 1883.
        m.put("edgellm.mqtt.enabled", "false");
        return m;
    }

    public static Path gemma() {
        return SharedFiles.model("gemma3-tiny-q4_0.gguf");
    }

    public static Path stories() {
        return SharedFiles.model("stories260K.gguf");
    }

    /** The shared Gemma 3 tiny model (262k vocabulary, random weights), scalar backend. */
    public static class Gemma implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", gemma().toString());
            return m;
        }
    }

    /** Gemma on a node with 1 GiB for the model (a small gateway's share), as the console's screenshot shows it. */
    public static class Console implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", gemma().toString());
            m.put("edgellm.memory.limit", "1G");
            return m;
        }
    }

    /**
     * Gemma whose every generation fails inside the engine ({@link FaultyEngine}), with an endpoint
     * that throws an unmapped exception ({@link FaultResource}).
     */
    public static class FaultyEngine implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", gemma().toString());
            m.put("test.fault-injection", "true");
            return m;
        }

        @Override
        public java.util.Set<Class<?>> getEnabledAlternatives() {
            return java.util.Set.of(dev.edgellm.service.testing.FaultyEngine.class);
        }
    }

    /** Gemma whose chat template refuses a system message with raise_exception. */
    public static class RaisingTemplate implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", TemplateModels.gemmaWith(TemplateModels.RAISING).toString());
            return m;
        }
    }

    /** Gemma whose chat template does not parse: the built-in one is used, with a warning. */
    public static class UnparsableTemplate implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", TemplateModels.gemmaWith(TemplateModels.UNPARSABLE).toString());
            return m;
        }
    }

    /** The API key of {@link Secured} given in {@code edgellm.api.keys}. */
    public static final String API_KEY = "test-key-0123456789abcdef";
    /** The API key of {@link Secured} in its keys file, at the start. */
    public static final String FILE_KEY = "file-key-0123456789abcdef";
    /** Where the keys file's path is kept: a system property, which the test and the profile share whatever class loader each has. */
    private static final String KEYS_FILE_PROPERTY = "test.api.keys-file";

    /** The keys file of {@link Secured} (created once per test JVM). */
    public static Path keysFile() {
        synchronized (System.class) {
            String p = System.getProperty(KEYS_FILE_PROPERTY);
            if (p != null) {
                return Path.of(p);
            }
            try {
                Path f = java.nio.file.Files.createTempFile("edgellm-api-keys", ".txt");
                java.nio.file.Files.writeString(f, "# API keys of the Secured test profile\n" + FILE_KEY + "\n");
                System.setProperty(KEYS_FILE_PROPERTY, f.toString());
                return f;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Gemma with API keys (one configured, one in a keys file), a one-second body timeout and a
     * two-second budget per request.
     */
    public static class Secured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", gemma().toString());
            m.put("edgellm.api.keys", API_KEY);
            m.put("edgellm.api.keys-file", keysFile().toString());
            m.put("edgellm.api.body-timeout", "1s");
            m.put("edgellm.limits.max-request-time", "2s");
            return m;
        }
    }

    /** Gemma with the MQTT intake on: small payload limit, every streamed piece a chunk, quick status. */
    static Map<String, String> mqtt() {
        Map<String, String> m = common();
        m.put("edgellm.model.path", gemma().toString());
        m.put("edgellm.mqtt.enabled", "true");
        m.put("edgellm.node-id", MQTT_NODE);
        m.put("edgellm.mqtt.max-payload", "4K");
        m.put("edgellm.mqtt.stream.chunk-chars", "1");
        m.put("edgellm.mqtt.status-interval", "2s");
        m.put("edgellm.mqtt.reconnect.min-backoff", "200ms");
        m.put("edgellm.mqtt.reconnect.max-backoff", "2s");
        m.put("edgellm.mqtt.reply-prefixes", "test/replies/");
        m.put("edgellm.mqtt.inbox-size", "4");
        return m;
    }

    /** The node id of the MQTT profiles. */
    public static final String MQTT_NODE = "test-node";

    /** MQTT intake against a real mosquitto started for the test (see {@link MqttResources.MosquittoBroker}). */
    public static class MqttMosquitto implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return mqtt();
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(MqttResources.MosquittoBroker.class));
        }
    }

    /**
     * {@link MqttMosquitto} in an application of its own, for a test that drives the connection
     * through a loop of oversize messages.
     */
    public static class MqttMosquittoOversize extends MqttMosquitto {
    }

    /** MQTT intake against a mosquitto that requires client certificates; the node has one (PEM). */
    public static class MqttMutualTls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return mqtt();
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(MqttResources.MutualTlsBroker.class));
        }
    }

    /** MQTT intake against a mosquitto that requires client certificates; the node has none. */
    public static class MqttWithoutClientCertificate implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return mqtt();
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(MqttResources.MutualTlsBroker.class, Map.of("client-certificate", "none")));
        }
    }

    /** MQTT intake with no broker host: the service's embedded broker, on a free port. */
    public static class MqttEmbedded implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return mqtt();
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(MqttResources.EmbeddedBroker.class));
        }
    }

    /** The real TinyStories Llama; the backend is chosen by calibration. */
    public static class Stories implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", stories().toString());
            m.put("edgellm.backend", "auto");
            m.put("edgellm.calibration.budget", "20ms");
            return m;
        }
    }

    /** stories260K with a half-second stall timeout, for the liveness watchdog. */
    public static class ShortWatchdog implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", stories().toString());
            m.put("edgellm.watchdog.stall-timeout", "500ms");
            return m;
        }
    }

    /** A model path that does not exist. */
    public static class MissingModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", gemma().getParent().resolve("no-such-model.gguf").toString());
            return m;
        }
    }

    /** A 32 MiB memory limit: the Gemma tiny model (166 MiB with runtime) does not fit. */
    public static class TooLittleMemory implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", gemma().toString());
            m.put("edgellm.memory.limit", "32M");
            return m;
        }
    }

    /** The context stories260K fits into under {@link CappedContext}'s memory limit. */
    public static final int CAPPED_CONTEXT = 300;

    /** stories260K asked for 512 tokens with memory for only {@link #CAPPED_CONTEXT}. */
    public static class CappedContext implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = common();
            m.put("edgellm.model.path", stories().toString());
            m.put("edgellm.memory.limit", Long.toString(bytesFor(stories(), CAPPED_CONTEXT)));
            return m;
        }
    }

    /** The memory limit at which {@code model} fits exactly {@code context} tokens (batch 64, default overhead). */
    public static long bytesFor(Path model, int context) {
        try (GgufFile f = GgufFile.open(model)) {
            ModelConfig c = ModelConfig.fromGguf(f);
            return MemoryFit.estimate(c, MemoryFit.weightsByType(f), context, 64, MemoryFit.DEFAULT_RUNTIME_OVERHEAD).totalBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Watches against a real mosquitto: {@code site} (declared in the configuration: four device
     * shapes on {@code site/+/telemetry}, 5 s windows, summaries to {@code site/summary}) and
     * {@code burst} (300-record windows within a 4 KiB byte budget, to {@code burst/summary}).
     */
    public static class Watches implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> m = mqtt();
            m.put("edgellm.watches.site.topics", "site/+/telemetry");
            m.put("edgellm.watches.site.extract.temp", "$.temp_c");
            m.put("edgellm.watches.site.extract.humidity", "$.env.humidity");
            m.put("edgellm.watches.site.extract.reading", "$.readings[0].value");
            m.put("edgellm.watches.site.extract.alarm", "$.alarm");
            m.put("edgellm.watches.site.extract.device", "topic[1]");
            m.put("edgellm.watches.site.window.time", "5s");
            m.put("edgellm.watches.site.max-tokens", "8");
            m.put("edgellm.watches.site.temperature", "0");
            m.put("edgellm.watches.site.publish-to", "site/summary");
            m.put("edgellm.watches.burst.topics", "burst/#");
            m.put("edgellm.watches.burst.extract.v", "$.v");
            m.put("edgellm.watches.burst.window.time", "60s");
            m.put("edgellm.watches.burst.window.count", "300");
            m.put("edgellm.watches.burst.window.max-bytes", "4K");
            m.put("edgellm.watches.burst.max-tokens", "4");
            m.put("edgellm.watches.burst.publish-to", "burst-summary");
            m.put("edgellm.watches.burst.retain", "true");
            return m;
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(MqttResources.MosquittoBroker.class));
        }
    }
}
