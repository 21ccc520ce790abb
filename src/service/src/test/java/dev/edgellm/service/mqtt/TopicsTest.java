package dev.edgellm.service.mqtt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The pool's topics and shared subscriptions, topic filter matching (routing to a subscription's handler), reserved node ids. */
class TopicsTest {
    final Topics t = new Topics("edgellm", "gw-7");

    @Test
    void poolTopicsAndSharedSubscriptions() {
        assertEquals("edgellm/pool/requests", t.poolRequests());
        assertEquals("edgellm/pool/gemma-3-1b-it-q4_0/requests", t.poolRequests("gemma-3-1b-it-q4_0"));
        assertEquals("edgellm/pool/odd_name_/requests", t.poolRequests("odd/name+"), "a model id becomes one topic level");
        assertEquals("$share/edgellm/edgellm/pool/requests", Topics.shared("edgellm", t.poolRequests()));
        assertEquals("edgellm/pool/requests", Topics.filterOf("$share/edgellm/edgellm/pool/requests"));
        assertEquals("edgellm/+/status", Topics.filterOf("edgellm/+/status"));
        assertTrue(t.isPool("edgellm/pool/requests"));
        assertTrue(t.isPool("edgellm/pool/m/requests"));
        assertFalse(t.isPool("edgellm/gw-7/requests"));
        assertFalse(t.isPool("edgellm/all/requests"));
    }

    @Test
    void filtersMatchAsMqttSays() {
        assertTrue(Topics.matches("edgellm/gw-7/requests", "edgellm/gw-7/requests"));
        assertFalse(Topics.matches("edgellm/gw-7/requests", "edgellm/gw-7/requests/x"));
        assertTrue(Topics.matches("site/+/temp", "site/boiler-1/temp"));
        assertFalse(Topics.matches("site/+/temp", "site/a/b/temp"));
        assertTrue(Topics.matches("site/#", "site"));
        assertTrue(Topics.matches("site/#", "site/a/b"));
        assertTrue(Topics.matches("#", "anything/at/all"));
        assertFalse(Topics.matches("#", "$SYS/broker/load"), "wildcards at the first level do not match $ topics");
        assertFalse(Topics.matches("+/x", "$SYS/x"));
        assertTrue(Topics.matches("a/+", "a/"), "an empty level is a level");
    }

    @Test
    void nodeIdsThatAreNotANodesLevelAreRefused() {
        for (String reserved : new String[] {"all", "pool", "replies"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NodeId.resolve(Optional.of(reserved)));
            assertTrue(e.getMessage().contains("edgellm.node-id"), e.getMessage());
        }
        assertEquals("gw_7", NodeId.resolve(Optional.of("gw/7")));
    }
}
