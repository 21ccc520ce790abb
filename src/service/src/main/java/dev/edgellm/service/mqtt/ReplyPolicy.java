package dev.edgellm.service.mqtt;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a request's {@code reply_to} may point. The service publishes answers with its own
 * credentials, so an unchecked {@code reply_to} would let any client make it publish anywhere it
 * may (a fleet-wide request topic, another device's command topic). Allowed: the configured
 * prefixes ({@code edgellm.mqtt.reply-prefixes}, default {@code <prefix>/replies/}) and the node's
 * own response topics; a prefix ending in {@code /} allows the topics below it, one without also
 * allows that topic itself. The stream topic {@code <reply>/stream} is below the reply topic, so
 * it follows.
 */
public final class ReplyPolicy {
    private final List<String> prefixes;
    private final String ownResponses;

    public ReplyPolicy(List<String> configured, Topics topics) {
        List<String> p = new ArrayList<>();
        for (String s : configured) {
            if (s == null || s.isBlank()) {
                continue;
            }
            String t = s.strip();
            if (t.startsWith("$") || t.contains("+") || t.contains("#") || t.equals("/")) {
                throw new IllegalArgumentException("edgellm.mqtt.reply-prefixes: '" + t + "' is not a topic prefix (no wildcards, not a $ topic)");
            }
            p.add(t);
        }
        this.prefixes = List.copyOf(p);
        this.ownResponses = topics.responses("");
    }

    /** Whether the service may publish an answer to {@code topic}. */
    public boolean allows(String topic) {
        if (topic == null || !Topics.validName(topic)) {
            return false;
        }
        if (topic.startsWith(ownResponses) && topic.length() > ownResponses.length()) {
            return true;
        }
        for (String p : prefixes) {
            if (p.endsWith("/") ? topic.startsWith(p) && topic.length() > p.length() : topic.equals(p) || topic.startsWith(p + "/")) {
                return true;
            }
        }
        return false;
    }

    public List<String> prefixes() {
        return prefixes;
    }

    /** For error messages. */
    public String describe() {
        return "replies go to topics under " + String.join(", ", prefixes) + (prefixes.isEmpty() ? "" : " or ") + ownResponses + "<id>";
    }
}
