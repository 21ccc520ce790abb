package dev.edgellm.service.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgellm.service.config.EdgeLlmConfig;
import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import dev.edgellm.service.mqtt.MqttIntake;
import dev.edgellm.service.mqtt.NodeId;
import dev.edgellm.service.mqtt.Topics;
import dev.edgellm.service.request.RequestRules;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The watches of this node: where they are declared (configuration, the watches file, the API;
 * a name in several places is taken from the API, then the file, then the configuration), which
 * of them this node runs ({@link WatchLease}), and the running ones' subscriptions on the MQTT
 * intake's connection ({@link WatchSubscriptions}), windows ({@link WatchRunner}) and summaries
 * ({@link WatchSummarizer}). Decisions are made on the watches' timer thread, every second and on
 * every change.
 */
@ApplicationScoped
public class WatchManager {
    private static final Logger LOG = Logger.getLogger(WatchManager.class);
    /** A node takes no watch until it has been connected this long: the other nodes' retained statuses arrive first. */
    static final Duration SETTLE = Duration.ofSeconds(2);

    @Inject
    EdgeLlmConfig config;
    @Inject
    EngineService engine;
    @Inject
    RequestRules rules;
    @Inject
    MqttIntake mqtt;
    @Inject
    ObjectMapper json;
    @Inject
    WatchMetrics metrics;

    private WatchSpecs specs;
    private WatchStore store;
    private WatchFile file;
    private WatchLease lease;
    private WatchSubscriptions subscriptions;
    private ScheduledExecutorService timer;
    private String node;
    private final Map<String, WatchSpec> fromConfig = new TreeMap<>();
    private final Map<String, WatchSpec> fromFile = new ConcurrentHashMap<>();
    private final Map<String, WatchSpec> fromApi = new ConcurrentHashMap<>();
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    private volatile boolean active;

    /** A watch this node runs. */
    private record Running(WatchSpec spec, WatchRunner runner, WatchSummarizer summarizer, Instant since) {}

    void onStart(@Observes @Priority(3000) StartupEvent event) {
        node = mqtt.running() ? mqtt.nodeId() : NodeId.resolve(config.nodeId());
        specs = new WatchSpecs(new WatchSpecs.Limits(config.mqtt().topicPrefix(), config.limits().maxTokens()));
        config.watches().forEach((name, w) -> {
            try {
                fromConfig.put(name, specs.fromConfig(name, w));
            } catch (InvalidWatchException e) {
                throw new IllegalArgumentException("edgellm.watches." + name + "." + e.field().replace('_', '-') + ": " + e.reason(), e);
            }
        });
        Path state = mqtt.stateDir() != null ? mqtt.stateDir()
                : Path.of(config.mqtt().stateDir().filter(s -> !s.isBlank()).orElse(Path.of(System.getProperty("java.io.tmpdir"), "edgellm-" + node).toString()));
        store = new WatchStore(state.resolve("watches"), json);
        store.load().forEach((name, body) -> {
            try {
                fromApi.put(name, specs.fromJson(name, body, "api"));
            } catch (InvalidWatchException e) {
                LOG.errorf("stored watch %s (%s) is not valid any more and is not run: %s", name, store.dir(), e.getMessage());
            }
        });
        file = config.watchesFile().filter(s -> !s.isBlank()).map(f -> new WatchFile(Path.of(f))).orElse(null);
        reloadFile();
        timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().name("edgellm-watches").daemon(true).unstarted(r));
        if (!mqtt.running()) {
            if (!effective().isEmpty()) {
                LOG.warnf("watches %s are declared but MQTT is off (edgellm.mqtt.enabled=false): none runs", effective().keySet());
            }
            return;
        }
        lease = new WatchLease(node);
        subscriptions = new WatchSubscriptions(mqtt, state.resolve(WatchSubscriptions.FILE), this::dispatch);
        mqtt.statusFields(this::statusFields);
        mqtt.onStray(this::stray);
        mqtt.onStatus((topic, payload) -> {
            String[] levels = topic.split("/");
            if (levels.length >= 2) {
                try {
                    lease.onStatus(levels[levels.length - 2], payload.length == 0 ? null : json.readTree(payload));
                } catch (IOException e) {
                    lease.onStatus(levels[levels.length - 2], null);
                }
                timer.execute(this::evaluate);
            }
        });
        active = true;
        timer.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
        LOG.infof("watches: %d declared (%s)%s", effective().size(), String.join(", ", effective().keySet()),
                file == null ? "" : ", watches file " + file.path());
    }

    void onStop(@Observes @Priority(5) ShutdownEvent event) {
        active = false;
        if (timer != null) {
            timer.shutdownNow();
        }
        running.values().forEach(r -> {
            r.runner().stop();
            r.summarizer().stop();
        });
        running.clear();
    }

    // ---- definitions ------------------------------------------------------------------------------

    /** Every declared watch by name, the API's over the file's over the configuration's. */
    public Map<String, WatchSpec> effective() {
        Map<String, WatchSpec> m = new TreeMap<>(fromConfig);
        m.putAll(fromFile);
        m.putAll(fromApi);
        return m;
    }

    /** Creates or replaces a watch over the API and stores it. @throws InvalidWatchException naming the bad field */
    public WatchSpec put(String name, JsonNode body) throws IOException {
        WatchSpec s = specs.fromJson(name, body, "api");
        Map<String, Object> stored = s.toMap();
        stored.remove("name");
        stored.remove("source");
        store.save(name, stored);
        fromApi.put(name, s);
        changed();
        return s;
    }

    /** Deletes a watch created over the API; empty when there is none, else whether one declared elsewhere remains. */
    public Optional<WatchSpec> delete(String name) throws IOException {
        WatchSpec gone = fromApi.remove(name);
        if (gone == null) {
            return Optional.empty();
        }
        store.delete(name);
        changed();
        return Optional.of(gone);
    }

    /** A watch as the API shows it: its definition and where it runs. */
    public Optional<Map<String, Object>> describe(String name) {
        WatchSpec s = effective().get(name);
        if (s == null) {
            return Optional.empty();
        }
        Map<String, Object> m = s.toMap();
        Running r = running.get(name);
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("running_here", r != null);
        state.put("held_since", r == null ? null : r.since().toString());
        state.put("open_records", r == null ? 0 : r.runner().open());
        state.put("holder", holder(name));
        state.put("node", node);
        m.put("state", state);
        return Optional.of(m);
    }

    private String holder(String name) {
        if (running.containsKey(name)) {
            return node;
        }
        if (lease == null) {
            return null;
        }
        return lease.others().entrySet().stream().filter(e -> e.getValue().held().containsKey(name)).map(Map.Entry::getKey).findFirst().orElse(null);
    }

    /** Whether {@code name} was created over the API (only those can be deleted there). */
    public boolean fromApi(String name) {
        return fromApi.containsKey(name);
    }

    private void reloadFile() {
        if (file == null) {
            return;
        }
        Map<String, WatchSpec> next = new LinkedHashMap<>();
        try {
            file.read().forEach((name, body) -> {
                try {
                    next.put(name, specs.fromJson(name, body, "file"));
                } catch (InvalidWatchException e) {
                    LOG.errorf("watches file %s: watch %s is not valid and is not run: %s", file.path(), name, e.getMessage());
                }
            });
        } catch (IOException | RuntimeException e) {
            LOG.errorf("watches file %s cannot be read (%s); keeping the watches read from it before", file.path(), e.getMessage());
            return;
        }
        fromFile.keySet().retainAll(next.keySet());
        fromFile.putAll(next);
        LOG.infof("watches file %s: %d watches (%s)", file.path(), next.size(), String.join(", ", next.keySet()));
    }

    private void changed() {
        if (active) {
            timer.execute(this::evaluate);
        }
    }

    // ---- running ------------------------------------------------------------------------------------

    private void tick() {
        if (file != null && file.changed()) {
            reloadFile();
        }
        evaluate();
    }

    /** Starts and stops watches as the lease says (timer thread). */
    private synchronized void evaluate() {
        if (!active) {
            return;
        }
        try {
            Map<String, WatchSpec> defined = effective();
            Map<String, Instant> held = new TreeMap<>();
            running.forEach((n, r) -> held.put(n, r.since()));
            Set<String> mine = !mqtt.connected() ? Set.of()
                    : lease.decide(defined.keySet(), engine.canServe(), held);
            EngineService.Phase phase = engine.status().phase();
            if (!mqtt.connectedFor(SETTLE) || phase == EngineService.Phase.STARTING || phase == EngineService.Phase.LOADING) {
                // not settled, or the model still loading: keep what is held, take nothing new
                mine = new TreeSet<>(mine);
                mine.retainAll(held.keySet());
            }
            boolean change = false;
            for (String n : List.copyOf(running.keySet())) {
                Running r = running.get(n);
                if (!mine.contains(n) || !r.spec().equals(defined.get(n))) {
                    r.runner().stop();
                    r.summarizer().stop();
                    running.remove(n);
                    change = true;
                    LOG.infof("watch %s: stopped on this node (%s)", n, !defined.containsKey(n) ? "removed" : mine.contains(n) ? "changed" : "held elsewhere");
                }
            }
            for (String n : mine) {
                if (!running.containsKey(n)) {
                    start(defined.get(n), held.getOrDefault(n, Instant.now()));
                    change = true;
                }
            }
            if (change) {
                subscriptions.update(running.values().stream().flatMap(r -> r.spec().topics().stream()).toList());
                mqtt.publishStatus();
            }
        } catch (RuntimeException e) {
            LOG.errorf(e, "watches: evaluation failed");
        }
    }

    private void start(WatchSpec s, Instant since) {
        CompiledWatch w = CompiledWatch.compile(s);
        WatchSummarizer sum = new WatchSummarizer(w, engine, rules, config.limits().maxPromptTokens(), new WatchSummarizer.Wire() {
            @Override
            public java.util.concurrent.CompletableFuture<Void> deliver(String topic, byte[] payload, boolean retain) {
                return mqtt.deliver(topic, payload, retain);
            }

            @Override
            public String errorsTopic() {
                return mqtt.topics().errors();
            }

            @Override
            public String node() {
                return node;
            }
        }, metrics, json);
        WatchRunner r = new WatchRunner(w, timer, sum::offer, o -> metrics.count(s.name(), o), Clock.systemUTC());
        r.start();
        running.put(s.name(), new Running(s, r, sum, since));
        LOG.infof("watch %s: running on this node: %s -> %s", s.name(), s.topics(), s.publishTo());
    }

    /** A message on a watch subscription (event loop): to every running watch whose filters match it. */
    private void dispatch(Delivery d) {
        try {
            for (Running r : running.values()) {
                for (String f : r.spec().topics()) {
                    if (Topics.matches(f, d.topic())) {
                        r.runner().accept(d.topic(), d.payload());
                        break;
                    }
                }
            }
        } finally {
            mqtt.ack(d); // taken into the window: a restart may lose the open window's records (README)
        }
    }

    /** A message of a watch subscription that ended (or an earlier run's): not a request. */
    private boolean stray(Delivery d) {
        for (WatchSpec s : effective().values()) {
            for (String f : s.topics()) {
                if (Topics.matches(f, d.topic())) {
                    if (running.containsKey(s.name())) {
                        dispatch(d);
                    } else {
                        mqtt.ack(d);
                    }
                    return true;
                }
            }
        }
        return subscriptions != null && subscriptions.claims(d, mqtt::ack);
    }

    private Map<String, Object> statusFields() {
        Map<String, Object> held = new TreeMap<>();
        running.forEach((n, r) -> held.put(n, r.since().toString()));
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("defined", new TreeSet<>(effective().keySet()));
        w.put("held", held);
        return Map.of("watches", w);
    }
}
