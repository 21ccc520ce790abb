package dev.edgellm.service.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every setting of the service, under {@code edgellm.*}. Each property can also be given as an
 * environment variable: upper case, dots and dashes as underscores ({@code edgellm.model.path} is
 * {@code EDGELLM_MODEL_PATH}, {@code edgellm.queue.size} is {@code EDGELLM_QUEUE_SIZE}).
 */
@ConfigMapping(prefix = "edgellm")
public interface EdgeLlmConfig {

    /** The model file and the directory {@code POST /api/fit} may look into. */
    Model model();

    /**
     * Context length (tokens) to allocate the KV cache for. Capped at the model's trained context
     * and at what fits the memory limit; the context in use is reported in {@code /api/system}.
     */
    @WithDefault("4096")
    int context();

    /** Tokens per forward batch during prompt processing. */
    @WithDefault("64")
    int batch();

    /** Compute threads; 0 means one per available core. */
    @WithDefault("0")
    int threads();

    /**
     * The backend plugin to use ({@code scalar}, {@code vector}, {@code opencl}, ...), or
     * {@code auto} to measure every usable backend at startup and take the fastest.
     */
    @WithDefault("auto")
    String backend();

    /** Startup calibration of the backends. */
    Calibration calibration();

    /** The memory limit the model must fit. */
    Memory memory();

    /** The queue of generation jobs in front of the single engine thread. */
    Queue queue();

    /** Limits on requests. */
    Limits limits();

    /** Who may use the REST API ({@code /v1/*}, {@code /api/*}) and how fast a client must send its request. */
    Api api();

    /** The liveness watchdog on token progress. */
    Watchdog watchdog();

    /** Scheduled jobs: memory re-probe and status snapshot. */
    Monitor monitor();

    /**
     * This node's name on the message bus: the {@code <node-id>} level of the MQTT topics and part
     * of the MQTT client id. Defaults to the host name. Characters that may not appear in a topic
     * level ({@code / + #}, control characters, spaces) are replaced by {@code _}.
     */
    Optional<String> nodeId();

    /** The MQTT intake: requests from the gateway's broker, responses and a retained status back. */
    Mqtt mqtt();

    /**
     * Watches declared here, by name ({@code edgellm.watches.<name>.topics=site/+/telemetry}, ...):
     * each subscribes to sensor topics on the node's broker, collects what arrives into windows and
     * publishes a summary of each window (README, "Watches"). Watches also come from
     * {@link #watchesFile()} and {@code PUT /api/watches/<name>}; a name given in several places is
     * taken from the API first, then the file, then here.
     */
    Map<String, Watch> watches();

    /**
     * A YAML or JSON file of watches ({@code watches: {<name>: {topics: [...], ...}}}, the fields
     * of {@code PUT /api/watches/<name>}); read at startup and again whenever it changes.
     */
    Optional<String> watchesFile();

    interface Model {
        /** Path of the GGUF model file loaded at startup. */
        @WithDefault("models/model.gguf")
        String path();

        /**
         * Directory {@code POST /api/fit} may read GGUF headers from; paths escaping it are
         * rejected. Defaults to the directory of {@link #path()}.
         */
        Optional<String> dir();
    }

    interface Calibration {
        /**
         * Most time each usable backend gets to warm up (at most a quarter of it) and to be timed on
         * decode- and prompt-shaped products of the model's own FFN weight; measuring stops as soon
         * as two successive rounds of medians agree within 10 % (well under a second on an idle
         * machine). The cap is long because a JIT-compiled backend measured before its kernels are
         * compiled (a busy machine delays the compiler) looks many times slower than it is.
         */
        @WithDefault("10s")
        Duration budget();

        /**
         * Tokens of a throw-away prompt the engine runs through the loaded model (twice, then a few
         * generated tokens) before it reports ready, so that the prompt path's kernels (attention,
         * norms, batched products) are compiled before the first request rather than during it.
         * 0 turns the warm-up off. Capped at half the context.
         */
        @WithDefault("128")
        int warmUp();
    }

    interface Memory {
        /**
         * The memory limit to fit the model into, overriding what the probe found (container
         * limit, else available memory). Sizes like {@code 512M} or {@code 2G}.
         */
        Optional<MemorySize> limit();

        /** JVM and runtime memory counted on top of weights, KV cache and scratch. */
        @WithDefault("96M")
        MemorySize runtimeOverhead();
    }

    interface Queue {
        /** Jobs that may wait for the engine (the one running is not counted); a full queue answers 429. */
        @WithDefault("8")
        int size();

        /** The {@code Retry-After} given with 429 (queue full) and 503 (model not loaded). */
        @WithDefault("2s")
        Duration retryAfter();
    }

    interface Limits {
        /** Most prompt tokens a request may have (after the chat template); more answers 400. */
        @WithDefault("4096")
        int maxPromptTokens();

        /** Largest {@code max_tokens} a request may ask for; more answers 400. */
        @WithDefault("2048")
        int maxTokens();

        /** {@code max_tokens} when a request gives none. */
        @WithDefault("256")
        int defaultMaxTokens();

        /** Most stop strings a request may give. */
        @WithDefault("4")
        int maxStopSequences();

        /** Longest stop string, in UTF-8 bytes. */
        @WithDefault("256")
        int maxStopBytes();

        /** Most bytes (UTF-8) all stop strings of a request may have together. */
        @WithDefault("512")
        int maxStopTotalBytes();

        /**
         * Longest prompt text, in UTF-8 bytes, checked before it is tokenized (so an oversized
         * prompt costs no tokenizer memory). Default: 16 bytes per token of
         * {@link #maxPromptTokens()}, several times what real text needs (English is about 4.5).
         */
        Optional<MemorySize> maxPromptBytes();

        /**
         * Wall-clock budget of one request on the engine (prompt processing and generation; the
         * time waiting in the queue does not count). A request that reaches it ends with what it
         * has, {@code finish_reason: "length"}, marked {@code "truncated_by": "max_request_time"}.
         */
        @WithDefault("10m")
        Duration maxRequestTime();
    }

    interface Api {
        /**
         * API keys. When any is set (here or in {@link #keysFile()}), every request to
         * {@code /v1/*} and {@code /api/*} must carry one as {@code Authorization: Bearer <key>};
         * others answer 401. Keys are at least 16 characters, without spaces. Health and metrics
         * ({@code /q/health/*}, {@code /q/metrics}) need none.
         */
        Optional<List<String>> keys();

        /**
         * A file of API keys, one per line ({@code #} starts a comment), for example a mounted
         * Kubernetes Secret; it is read again when it changes, so keys can be rotated without a restart.
         */
        Optional<String> keysFile();

        /**
         * Serve the REST API without keys on an address other than loopback. Off by default: the
         * service refuses to start on such an address with no key, unless this is set (it is then
         * logged as a warning).
         */
        @WithDefault("false")
        boolean allowUnauthenticated();

        /**
         * Longest time a client may take to send a request body; after it the request answers 408
         * and the connection is closed (a slow sender holds no thread, but would hold a connection).
         */
        @WithDefault("10s")
        Duration bodyTimeout();
    }

    interface Watchdog {
        /**
         * Liveness turns DOWN when a job has made no progress (prompt batch or token) for this
         * long. Set it above the time of one prompt batch on the slowest expected hardware.
         */
        @WithDefault("120s")
        Duration stallTimeout();
    }

    interface Monitor {
        /** How often memory (available, container usage, process RSS) is probed again. */
        @WithDefault("15s")
        Duration memoryInterval();

        /** How often a status snapshot is logged and kept for {@code /api/system}. */
        @WithDefault("60s")
        Duration statusInterval();
    }

    interface Mqtt {
        /** Whether the service connects to a broker at all (and, without {@link #host()}, starts the embedded one). */
        @WithDefault("true")
        boolean enabled();

        /**
         * The broker's host name. Empty (the default): the service starts an embedded broker
         * (Moquette) on {@link Embedded#host()} and uses it.
         */
        Optional<String> host();

        /** The broker's port; also the embedded broker's port unless {@link Embedded#port()} is set. */
        @WithDefault("1883")
        int port();

        /** First level of every topic: {@code <prefix>/<node-id>/requests}, {@code <prefix>/all/requests}, ... */
        @WithDefault("edgellm")
        String topicPrefix();

        /** User name for the broker; none by default. */
        Optional<String> username();

        /** Password for the broker, with {@link #username()}. */
        Optional<String> password();

        /** TLS to the broker. */
        Tls tls();

        /**
         * The MQTT client id. It must stay the same across restarts: the broker keeps this client's
         * persistent session (subscriptions and unacknowledged requests) under it. Defaults to
         * {@code edgellm-<node-id>}.
         */
        Optional<String> clientId();

        /**
         * QoS of the subscriptions and of the responses: 1 (at least once, the default) or 0 (at
         * most once: nothing is redelivered, requests may be lost).
         */
        @WithDefault("1")
        int qos();

        /** MQTT keep-alive: the broker declares the node gone (and sends the last will) after 1.5 times this without traffic. */
        @WithDefault("30s")
        Duration keepAlive();

        /** Reconnection to the broker. */
        Reconnect reconnect();

        /** Duplicate requests (same {@code id}) answered from a cache instead of generating again. */
        Dedup dedup();

        /**
         * Largest request payload in bytes; a larger one is answered with a {@code too_large} error.
         * The client reads no message beyond this plus 64 KiB of headers (the topic): a larger one
         * ends the connection (see README, "Security"), so set the broker's own limit to match.
         */
        @WithDefault("64K")
        MemorySize maxPayload();

        /**
         * After this many connections in a row each ended by a message over the size limit (a QoS 1
         * message the broker offers again on every reconnection of the persistent session, so the
         * node could never read anything again), connect once with a clean session: the broker
         * discards the session, with the oversize message and whatever else it still held for this
         * node and had not delivered; requests the node had already received are still answered.
         * Then it connects with its persistent session again. 0: never (the loop goes on until the
         * broker's own size limit stops it, and the {@code mqtt} check is DOWN after
         * {@code reconnect.down-after} cycles). See README, "Security".
         */
        @WithDefault("2")
        int oversizeSessionReset();

        /**
         * Topics a request's {@code reply_to} may name: a prefix ending in {@code /} allows any topic
         * below it, one without also allows that topic itself. The node's own response topics
         * ({@code <prefix>/<node>/responses/...}) are always allowed. Default:
         * {@code <topic-prefix>/replies/}. Any other {@code reply_to} is answered with
         * {@code invalid_reply_to} on the node's errors topic.
         */
        Optional<List<String>> replyPrefixes();

        /**
         * Requests received and not yet taken by the intake, for every QoS. A QoS 0 request beyond it
         * is dropped and answered with an {@code overloaded} error (QoS 1 requests are held back by
         * the broker's in-flight window, mosquitto's 20 by default, long before this).
         */
        @WithDefault("64")
        int inboxSize();

        /** Streamed responses ({@code "stream": true}). */
        Stream stream();

        /**
         * How often the retained status is published (it is also published whenever health, phase,
         * model, queue saturation, pool membership or room, or draining change).
         */
        @WithDefault("30s")
        Duration statusInterval();

        /**
         * Directory of the intake's state: the cache of recent responses (so that a request
         * redelivered after a crash is answered, not generated again) and the embedded broker's
         * store. Defaults to {@code <java.io.tmpdir>/edgellm-<node-id>}.
         */
        Optional<String> stateDir();

        /** The embedded broker, used when no {@link #host()} is set. */
        Embedded embedded();

        /**
         * The work pool's shared subscription group: the node also subscribes (QoS 1) to
         * {@code $share/<group>/<prefix>/pool/requests} and, for its model,
         * {@code $share/<group>/<prefix>/pool/<model-id>/requests}, and the broker hands each pool
         * request to one node of the group. Nodes with the same group share the work. {@code none}
         * (or an empty value) disables the pool. Needs a broker with shared subscriptions
         * (mosquitto 2.x, EMQX, HiveMQ); on the embedded broker, which has none, the node
         * subscribes to the pool topics directly and answers them alone.
         */
        @WithDefault("edgellm")
        Optional<String> poolGroup();

        /**
         * Most pool requests this node admits to its engine at a time. At the limit its status says
         * it has no room, and a further pool request goes back to the pool (published again,
         * unchanged) when another member's status says it has room; otherwise it waits here for a
         * place. Requests on the node's own topic and the broadcast do not count.
         */
        @WithDefault("2")
        int maxInflight();

        /**
         * At shutdown the node leaves the pool, then answers what it has already received for up to
         * this long before it disconnects; what is still unanswered then stays with the broker (in
         * this node's session) and is answered when the node comes back. 0: no waiting.
         */
        @WithDefault("10s")
        Duration drainTimeout();

        /**
         * Start every connection with a clean session (MQTT 3.1.1 "clean session", MQTT 5 "clean
         * start" with a zero session expiry): the broker keeps nothing for this node while it is
         * away, so requests sent while it is down or not acknowledged when it dies are lost, not
         * redelivered. Off by default (a persistent session: nothing accepted is lost).
         */
        @WithDefault("false")
        boolean cleanStart();

        /** Home Assistant MQTT discovery of the node and its sensors. */
        Discovery discovery();
    }

    interface Discovery {
        /**
         * Publish retained Home Assistant discovery configs for this node (a device with status,
         * model, backend, tokens/s, queue depth, memory and requests sensors). Default: on when an
         * external broker ({@link Mqtt#host()}) is configured, off with the embedded broker. Set to
         * {@code false} to remove the node from Home Assistant: empty retained configs replace them.
         */
        Optional<Boolean> enabled();

        /** The discovery prefix Home Assistant subscribes to (its MQTT integration's setting). */
        @WithDefault("homeassistant")
        String prefix();
    }

    interface Tls {
        /** Connect with TLS (usually on port 8883). */
        @WithDefault("false")
        boolean enabled();

        /** PEM file of the CA certificate(s) to trust; default: the JVM's trust store. */
        Optional<String> caFile();

        /** Trust store (PKCS#12 or JKS, by file extension) instead of {@link #caFile()}. */
        Optional<String> trustStore();

        /** Password of {@link #trustStore()}. */
        Optional<String> trustStorePassword();

        /** PEM client certificate, for brokers that require client authentication (with {@link #keyFile()}). */
        Optional<String> certFile();

        /** PEM private key of {@link #certFile()}. */
        Optional<String> keyFile();

        /**
         * Client certificate and key in a key store (PKCS#12, or JKS by extension) instead of
         * {@link #certFile()} / {@link #keyFile()}: for brokers that require mutual TLS.
         */
        Optional<String> keyStore();

        /** Password of {@link #keyStore()}. */
        Optional<String> keyStorePassword();

        /** Check that the broker's certificate names {@link Mqtt#host()}. */
        @WithDefault("true")
        boolean verifyHost();
    }

    interface Reconnect {
        /** Wait before the first reconnection attempt; doubled after each failure. */
        @WithDefault("1s")
        Duration minBackoff();

        /** Longest wait between reconnection attempts. */
        @WithDefault("60s")
        Duration maxBackoff();

        /**
         * Failed connection cycles in a row (a refused or failed attempt, or a connection lost
         * before it was up for 30 s) after which the {@code mqtt} health check turns DOWN.
         */
        @WithDefault("3")
        int downAfter();
    }

    interface Dedup {
        /** How long a response is kept to answer a duplicate of its request. */
        @WithDefault("10m")
        Duration window();

        /** Most responses kept (the oldest go first). */
        @WithDefault("1000")
        int size();
    }

    interface Stream {
        /**
         * Text is sent on {@code <reply topic>/stream} in chunks of at least this many characters
         * (the last one may be shorter); 1 sends every piece as soon as it is decoded.
         */
        @WithDefault("32")
        int chunkChars();
    }

    interface Embedded {
        /**
         * Address the embedded broker listens on; the default keeps it to this machine, where it
         * allows anonymous clients. On any other address it requires {@link #passwordFile()}, or
         * the service refuses to start.
         */
        @WithDefault("127.0.0.1")
        String host();

        /**
         * Moquette password file ({@code user:sha256-hex-of-password} per line): clients of the
         * embedded broker must log in. The service logs in with {@link Mqtt#username()} /
         * {@link Mqtt#password()}.
         */
        Optional<String> passwordFile();

        /** Port of the embedded broker; default {@link Mqtt#port()}. */
        Optional<Integer> port();

        /** Where the embedded broker persists sessions and queued messages; default {@code <state-dir>/broker}. */
        Optional<String> dataDir();
    }

    /** One watch: what to subscribe to, what to keep, how to window and when to summarize, where to publish. */
    interface Watch {
        /** MQTT topic filters ({@code +} and {@code #} allowed) subscribed with QoS 1 on the node's broker. */
        List<String> topics();

        /**
         * Fields kept from each message: field name = a JSONPath on the JSON payload
         * ({@code $.temp_c}, {@code $.readings[0].value}) or a topic level ({@code topic[1]}, counted
         * from 0; {@code topic} is the whole topic). None: the whole JSON payload is kept.
         */
        Map<String, String> extract();

        /** How records are collected into windows. */
        WatchWindow window();

        /** When a window is summarized. */
        WatchTrigger trigger();

        /** Instructions for the model; default: a summary of sensor data for an operator (anomalies, trends, action needed). */
        Optional<String> prompt();

        /** Most tokens of each summary. */
        @WithDefault("128")
        int maxTokens();

        /** Sampling temperature of the summaries (0: greedy). */
        @WithDefault("0.2")
        double temperature();

        /** Sampling seed; default: a new one for every summary. */
        Optional<Long> seed();

        /** The topic every summary is published to (QoS 1). */
        String publishTo();

        /** Publish the summaries retained (the last one stays on the broker for late subscribers). */
        @WithDefault("false")
        boolean retain();

        /**
         * A template for the published payload instead of the JSON summary message: {@code {{field}}}
         * placeholders are replaced by the message's fields ({@code {{text}}}, {@code {{watch}}},
         * {@code {{window_start}}}, {@code {{window_end}}}, {@code {{records}}}, {@code {{reduced}}}, ...).
         */
        Optional<String> template();
    }

    /** A watch's window. */
    interface WatchWindow {
        /** Length of a window ({@code 10m}); with {@link #count()} the window closes at whichever comes first. */
        Optional<Duration> time();

        /** Records after which a window closes. */
        Optional<Integer> count();

        /**
         * Most payload bytes a window holds as records; beyond it the oldest records are folded into
         * the window's per-field statistics (counted, not kept verbatim).
         */
        @WithDefault("256K")
        MemorySize maxBytes();
    }

    /** A watch's triggers. */
    interface WatchTrigger {
        /** Summarize every window when it closes. */
        @WithDefault("true")
        boolean schedule();

        /**
         * A condition on a record that fires an early summary of the window so far:
         * {@code $.temp_c > 90}, {@code $.alarm exists}, {@code topic[1] == press7}; operators
         * {@code > >= < <= == != exists}, clauses joined with {@code &&} and {@code ||}.
         */
        Optional<String> condition();

        /** After a condition matched, records arriving this long are still taken into the early summary. */
        @WithDefault("300ms")
        Duration after();
    }
}
