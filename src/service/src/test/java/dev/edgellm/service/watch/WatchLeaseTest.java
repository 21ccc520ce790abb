package dev.edgellm.service.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The lease in the retained statuses: one holder, stable while online, moved when it goes. */
class WatchLeaseTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant T = Instant.parse("2026-01-01T10:00:00Z");

    static void status(WatchLease l, String node, String health, String held) throws Exception {
        l.onStatus(node, JSON.readTree("{\"status\":\"online\",\"health\":\"" + health + "\",\"watches\":{\"defined\":[\"w\"],\"held\":" + held + "}}"));
    }

    @Test
    void theFirstNodeThatCanServeTakesAFreeWatch() throws Exception {
        WatchLease a = new WatchLease("a");
        WatchLease b = new WatchLease("b");
        status(a, "b", "UP", "{}");
        status(b, "a", "UP", "{}");
        assertEquals(Set.of("w"), a.decide(Set.of("w"), true, Map.of()));
        assertEquals(Set.of(), b.decide(Set.of("w"), true, Map.of()));
        // a cannot serve: b takes it
        status(b, "a", "DOWN", "{}");
        assertEquals(Set.of("w"), b.decide(Set.of("w"), true, Map.of()));
    }

    @Test
    void aHeldWatchStaysUntilItsHolderGoesAndTwoHoldersKeepTheEarlier() throws Exception {
        WatchLease a = new WatchLease("a");
        status(a, "b", "UP", "{\"w\":\"" + T + "\"}");
        assertEquals(Set.of(), a.decide(Set.of("w"), true, Map.of()), "b holds it: no churn");
        assertEquals(Set.of(), a.decide(Set.of("w"), true, Map.of("w", T.plusSeconds(1))), "b held it first: a lets go");
        assertEquals(Set.of("w"), a.decide(Set.of("w"), true, Map.of("w", T.minusSeconds(1))), "a held it first: a keeps it");
        a.onStatus("b", JSON.readTree("{\"status\":\"offline\",\"reason\":\"connection lost\"}"));
        assertEquals(Set.of("w"), a.decide(Set.of("w"), true, Map.of()), "b's last will: a takes over");
    }
}
