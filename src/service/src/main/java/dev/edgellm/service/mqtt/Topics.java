package dev.edgellm.service.mqtt;

import java.nio.charset.StandardCharsets;

/**
 * The topics of one node: {@code <prefix>/<node>/requests} and the fleet-wide
 * {@code <prefix>/all/requests} in; {@code <prefix>/<node>/responses/<id>} (unless a request names
 * its own {@code reply_to}), {@code <prefix>/<node>/errors} and the retained
 * {@code <prefix>/<node>/status} out. Streamed text goes to {@code <reply topic>/stream}.
 */
public record Topics(String prefix, String node) {
    /** The node level that every node subscribes to. */
    public static final String FLEET = "all";

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
