package dev.edgellm.service.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

    private static String feed(StopMatcher m, String... pieces) {
        StringBuilder out = new StringBuilder();
        for (String p : pieces) {
            out.append(m.accept(p));
        }
        return out.toString();
    }

    @Test
    void withoutStopsTextPassesStraightThrough() {
        StopMatcher m = new StopMatcher(List.of());
        assertEquals("abc", m.accept("abc"));
        assertEquals("", m.finish());
        assertEquals("abc", m.text());
    }

    @Test
    void aStopSpanningPiecesIsNeverReleased() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("hello ", m.accept("hello E"));
        assertEquals("", m.accept("N"));
        assertFalse(m.matched());
        assertEquals("", m.accept("D and more"));
        assertTrue(m.matched());
        assertEquals("hello ", m.text());
        assertEquals("", m.finish());
    }

    @Test
    void aFalseStartIsReleasedOnceItCannotBeAStop() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("a", feed(m, "aE"));
        assertEquals("ENx", m.accept("Nx"));
        assertEquals("aENx", m.text());
        m.accept("E");
        assertEquals("E", m.finish(), "held text is released at the end");
        assertEquals("aENxE", m.text());
    }

    @Test
    void theEarliestOfSeveralStopsWins() {
        StopMatcher m = new StopMatcher(List.of("cd", "b"));
        assertEquals("a", m.accept("abcd"));
        assertTrue(m.matched());
        assertEquals("", m.accept("more"), "nothing after a match");
    }

    @Test
    void overlappingPrefixesHoldTheLongestCandidate() {
        StopMatcher m = new StopMatcher(List.of("aab"));
        assertEquals("", m.accept("a"));
        assertEquals("", m.accept("a"));
        assertEquals("a", m.accept("a"), "'aaa': only the first 'a' can no longer start 'aab'");
        assertEquals("", m.accept("b"));
        assertTrue(m.matched());
        assertEquals("a", m.text());
    }
}
