package dev.edgellm.service.watch;

import dev.edgellm.service.mqtt.MqttConnection;
import dev.edgellm.service.mqtt.MqttConnection.Delivery;
import dev.edgellm.service.mqtt.MqttIntake;
import dev.edgellm.service.mqtt.Topics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The watches' subscriptions on the intake's connection (QoS 1, one per distinct filter, whatever
 * number of watches share it). A persistent session keeps subscriptions across restarts: every
 * filter ever subscribed is written to {@code <state-dir>/watch-subscriptions}, and those not
 * wanted now are unsubscribed on each connection; their messages meanwhile are acknowledged and
 * dropped, never taken for requests.
 */
final class WatchSubscriptions {
    private static final Logger LOG = Logger.getLogger(WatchSubscriptions.class);
    static final String FILE = "watch-subscriptions";

    private final MqttIntake mqtt;
    private final Path stateFile;
    private final MqttConnection.Handler handler;
    private final Set<String> ever = new LinkedHashSet<>();
    private Set<String> current = Set.of();

    WatchSubscriptions(MqttIntake mqtt, Path stateFile, MqttConnection.Handler handler) {
        this.mqtt = mqtt;
        this.stateFile = stateFile;
        this.handler = handler;
        try {
            if (Files.exists(stateFile)) {
                Files.readAllLines(stateFile, StandardCharsets.UTF_8).stream().map(String::strip).filter(s -> !s.isEmpty()).forEach(ever::add);
            }
        } catch (IOException e) {
            LOG.warnf("cannot read %s: %s", stateFile, e.getMessage());
        }
        mqtt.unsubscribeOnConnect(this::stale);
    }

    /** Subscribes to {@code filters} and ends the subscriptions no longer among them. */
    synchronized void update(List<String> filters) {
        Set<String> next = new LinkedHashSet<>(filters);
        List<String> gone = new ArrayList<>(current);
        gone.removeAll(next);
        for (String f : next) {
            if (!current.contains(f)) {
                mqtt.subscribe(f, 1, handler);
            }
        }
        if (!gone.isEmpty()) {
            mqtt.unsubscribe(gone);
        }
        current = next;
        if (ever.addAll(next)) {
            try {
                Files.createDirectories(stateFile.getParent());
                Files.write(stateFile, ever, StandardCharsets.UTF_8);
            } catch (IOException e) {
                LOG.warnf("cannot write %s: %s", stateFile, e.getMessage());
            }
        }
    }

    private synchronized List<String> stale() {
        List<String> s = new ArrayList<>(ever);
        s.removeAll(current);
        return s;
    }

    /** A message of a filter once subscribed and not now: acknowledged and dropped; true when it was one. */
    synchronized boolean claims(Delivery d, Consumer<Delivery> ack) {
        for (String f : ever) {
            if (Topics.matches(f, d.topic())) {
                ack.accept(d);
                return true;
            }
        }
        return false;
    }
}
