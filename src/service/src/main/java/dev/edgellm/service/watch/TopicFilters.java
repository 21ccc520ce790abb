package dev.edgellm.service.watch;

import dev.edgellm.service.mqtt.Topics;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** What a watch may subscribe and publish to. */
final class TopicFilters {
    private TopicFilters() {}

    /** Why {@code filter} is not a topic filter a watch may subscribe to, or null when it is. */
    static String problem(String filter, String prefix) {
        if (filter == null || filter.isEmpty()) {
            return "an empty topic filter";
        }
        if (filter.getBytes(StandardCharsets.UTF_8).length > 65535 || filter.indexOf('\0') >= 0) {
            return "not a topic filter (too long, or a NUL character)";
        }
        if (filter.startsWith("$")) {
            return "'" + filter + "': $ topics (shared subscriptions, broker statistics) are not for watches";
        }
        String[] levels = filter.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String l = levels[i];
            if (l.contains("#") && (!l.equals("#") || i != levels.length - 1)) {
                return "'" + filter + "': # stands alone as the last level";
            }
            if (l.contains("+") && !l.equals("+")) {
                return "'" + filter + "': + stands alone in a level";
            }
        }
        if (levels[0].equals("#") || levels[0].equals("+") || levels[0].equals(prefix)) {
            return "'" + filter + "' takes in the node's own topics (" + prefix + "/...): name the sensor topics";
        }
        return null;
    }

    /** Why a watch may not publish to {@code topic}, or null when it may. */
    static String publishProblem(String topic, List<String> filters, String prefix) {
        if (!Topics.validName(topic)) {
            return "'" + topic + "' is not a topic to publish to (no wildcards, not empty, not $...)";
        }
        for (String f : filters) {
            if (Topics.matches(f, topic)) {
                return "'" + topic + "' matches the watch's own filter " + f + ": every summary would come back as a record";
            }
        }
        if (topic.equals(prefix) || topic.startsWith(prefix + "/")) {
            return "'" + topic + "' is under the node's own prefix " + prefix + "/: publish summaries elsewhere";
        }
        return null;
    }
}
