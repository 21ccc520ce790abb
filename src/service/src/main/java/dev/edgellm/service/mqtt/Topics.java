package dev.edgellm.service.mqtt;

import java.nio.charset.StandardCharsets;

/**
 * The topics of one node: {@code <prefix>/<node>/requests}, the fleet-wide broadcast
 * {@code <prefix>/all/requests} and the work pool {@code <prefix>/pool/requests} and
 * {@code <prefix>/pool/<model>/requests} in; {@code <prefix>/<node>/responses/<id>} (unless a
 * request names its own {@code reply_to}), {@code <prefix>/<node>/errors} and the retained
 * {@code <prefix>/<node>/status} out. Streamed text goes to {@code <reply topic>/stream}.
 */
public record Topics(String prefix, String node) {
    /** The node level that every node subscribes to. */
    public static final String FLEET = "all";
    /** The level of the work pool's topics (one node of a shared subscription group answers). */
    public static final String POOL = "pool";
    /** Levels below the prefix that no node may be called: they are not a node's topics. */
    public static final java.util.Set<String> RESERVED = java.util.Set.of(FLEET, POOL, "replies");

    public Topics {
        if (!validName(prefix) || prefix.endsWith("/")) {
            throw new IllegalArgumentException("edgellm.mqtt.topic-prefix '" + prefix + "' is not a valid topic (no wildcards, not empty)");
        }
        if (!validLevel(node)) {
            throw new IllegalArgumentException("node id '" + node + "' cannot be a topic level");
        }
    }

    public String requests() {
        return prefix + "/" + node + "/requests";
    }

    public String fleetRequests() {
        return prefix + "/" + FLEET + "/requests";
    }

    /** The work pool: any node answers (one node of the shared subscription group). */
    public String poolRequests() {
        return prefix + "/" + POOL + "/requests";
    }

    /** The work pool of one model: a node that serves {@code modelId} answers. */
    public String poolRequests(String modelId) {
        return prefix + "/" + POOL + "/" + sanitizeLevel(modelId) + "/requests";
    }

    /** Whether {@code topic} is one of the work pool's request topics. */
    public boolean isPool(String topic) {
        String p = prefix + "/" + POOL + "/";
        return topic.startsWith(p) && topic.endsWith("/requests");
    }

    /** A shared subscription of {@code group} to {@code topic}: the broker hands each message to one member. */
    public static String shared(String group, String topic) {
        return "$share/" + group + "/" + topic;
    }

    /** The topic filter of a subscription ({@code $share/<group>/} removed). */
    public static String filterOf(String subscription) {
        if (subscription.startsWith("$share/")) {
            int slash = subscription.indexOf('/', "$share/".length());
            return slash < 0 ? subscription : subscription.substring(slash + 1);
        }
        return subscription;
    }

    /** Whether {@code topic} matches the topic filter {@code filter} ({@code +} one level, {@code #} the rest). */
    public static boolean matches(String filter, String topic) {
        String[] f = filter.split("/", -1);
        String[] t = topic.split("/", -1);
        for (int i = 0; i < f.length; i++) {
            if (f[i].equals("#")) {
                return i > 0 || !topic.startsWith("$");
            }
            if (i >= t.length) {
                return false;
            }
            if (f[i].equals("+")) {
                if (i == 0 && t[0].startsWith("$")) {
                    return false;
                }
                continue;
            }
            if (!f[i].equals(t[i])) {
                return false;
            }
        }
        return f.length == t.length;
    }

    public String responses(String id) {
        return prefix + "/" + node + "/responses/" + id;
    }

    public String errors() {
        return prefix + "/" + node + "/errors";
    }

    public String status() {
        return prefix + "/" + node + "/status";
    }

    public static String stream(String replyTopic) {
        return replyTopic + "/stream";
    }

    /** A topic name one may publish to: not empty, no wildcards or NUL, at most 65535 bytes in UTF-8, not a {@code $} system topic. */
    public static boolean validName(String topic) {
        if (topic == null || topic.isEmpty() || topic.startsWith("$")) {
            return false;
        }
        for (int i = 0; i < topic.length(); i++) {
            char c = topic.charAt(i);
            if (c == '+' || c == '#' || c == 0) {
                return false;
            }
        }
        // room for "/stream"
        return topic.getBytes(StandardCharsets.UTF_8).length <= 65535 - 7;
    }

    /** One topic level: not empty, none of {@code / + #}, no control characters or spaces. */
    public static boolean validLevel(String level) {
        if (level == null || level.isEmpty() || level.startsWith("$")) {
            return false;
        }
        for (int i = 0; i < level.length(); i++) {
            char c = level.charAt(i);
            if (c == '/' || c == '+' || c == '#' || Character.isISOControl(c) || Character.isWhitespace(c)) {
                return false;
            }
        }
        return true;
    }

    /** Replaces what may not appear in a topic level by {@code _}. */
    public static String sanitizeLevel(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(c == '/' || c == '+' || c == '#' || c == '$' && i == 0 || Character.isISOControl(c) || Character.isWhitespace(c) ? '_' : c);
        }
        return sb.toString();
    }
}
