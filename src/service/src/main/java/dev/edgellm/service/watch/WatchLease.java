package dev.edgellm.service.watch;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which node of a fleet runs each watch: a lease carried in the nodes' retained status messages.
 * Every node's status lists the watches it defines and those it holds, with since when
 * ({@code "watches":{"defined":[...],"held":{"<name>":"<since>"}}}); the broker publishes a node's
 * last will ({@code offline}) on the same retained topic when its connection dies. Every node
 * decides from the same statuses:
 * <ul>
 * <li>a watch held by a node that is online stays with it (no churn when nodes join);
 * <li>a watch held by nobody goes to the first node id, in order, among the online nodes that
 *     define it and can serve (any that define it when none can);
 * <li>two holders (views crossed for a moment) keep the one holding since earlier (then the
 *     lower id); the other lets go at once, dropping its open window;
 * <li>a holder that cannot serve lets go when another node that defines the watch can.
 * </ul>
 * Not a shared subscription: the broker would spread each watch's messages over the nodes, so no
 * node would see a whole window. Thread-safe: statuses come on the event loop, decisions on the timer.
 */
final class WatchLease {
    /** Another node as its status shows it. */
    record Member(boolean up, Set<String> defined, Map<String, Instant> held) {}

    private final String self;
    private final Map<String, Member> others = new ConcurrentHashMap<>();

    WatchLease(String self) {
        this.self = self;
    }

    /** A node's retained status; an offline or unreadable one removes the node. */
    void onStatus(String node, JsonNode s) {
        if (node.equals(self)) {
            return;
        }
        if (s == null || !s.isObject() || !"online".equals(s.path("status").asText())) {
            others.remove(node);
            return;
        }
        Set<String> defined = new HashSet<>();
        s.path("watches").path("defined").forEach(n -> defined.add(n.asText()));
        Map<String, Instant> held = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : s.path("watches").path("held").properties()) {
            try {
                held.put(e.getKey(), Instant.parse(e.getValue().asText()));
            } catch (RuntimeException bad) {
                held.put(e.getKey(), Instant.EPOCH);
            }
        }
        others.put(node, new Member("UP".equals(s.path("health").asText()), defined, held));
    }

    /** The nodes seen online, with what they hold. */
    Map<String, Member> others() {
        return Map.copyOf(others);
    }

    /**
     * The watches this node should hold now.
     *
     * @param defined the watches this node defines
     * @param up      whether this node can serve
     * @param held    what this node holds now, with since when
     */
    Set<String> decide(Set<String> defined, boolean up, Map<String, Instant> held) {
        Set<String> mine = new TreeSet<>();
        for (String w : defined) {
            if (holds(w, up, held.get(w))) {
                mine.add(w);
            }
        }
        return mine;
    }

    private boolean holds(String w, boolean up, Instant since) {
        Map<String, Instant> holders = new LinkedHashMap<>();
        boolean anotherCanServe = false;
        TreeSet<String> candidatesUp = new TreeSet<>();
        TreeSet<String> candidates = new TreeSet<>();
        candidates.add(self);
        if (up) {
            candidatesUp.add(self);
        }
        for (Map.Entry<String, Member> e : others.entrySet()) {
            Member m = e.getValue();
            if (m.held().containsKey(w)) {
                holders.put(e.getKey(), m.held().get(w));
            }
            if (m.defined().contains(w)) {
                candidates.add(e.getKey());
                if (m.up()) {
                    candidatesUp.add(e.getKey());
                    anotherCanServe = true;
                }
            }
        }
        if (since != null) {
            for (Map.Entry<String, Instant> h : holders.entrySet()) {
                int c = h.getValue().compareTo(since);
                if (c < 0 || c == 0 && h.getKey().compareTo(self) < 0) {
                    return false; // the other holder came first
                }
            }
            return up || !anotherCanServe;
        }
        if (!holders.isEmpty()) {
            return false;
        }
        TreeSet<String> pool = candidatesUp.isEmpty() ? candidates : candidatesUp;
        return pool.first().equals(self);
    }
}
