package dev.edgellm.core.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The UTF-8 string-array form against plain {@code String}s. */
class GgufStringsTest {
    private static final String[] TEXTS = {"", "a", "\u2581the", "\u2581\u2581", "日本語", "𝄞 clef", "<0x0A>", "a\0b", "[EMPTY_3]"};

    @Test
    void elementsReadBackAsWritten() {
        GgufStrings g = GgufStrings.of(TEXTS);
        assertEquals(TEXTS.length, g.length());
        assertArrayEquals(TEXTS, g.toArray());
        for (int i = 0; i < TEXTS.length; i++) {
            byte[] utf8 = TEXTS[i].getBytes(StandardCharsets.UTF_8);
            assertEquals(TEXTS[i], g.get(i));
            assertArrayEquals(utf8, g.bytes(i));
            assertEquals(utf8.length, g.byteLength(i));
            assertEquals(TEXTS[i].length(), g.charLength(i), TEXTS[i]);
            assertEquals(GgufStrings.hash(utf8, 0, utf8.length), g.hash(i));
            assertTrue(g.contentEquals(i, utf8, 0, utf8.length));
            byte[] padded = ("xx" + TEXTS[i] + "y").getBytes(StandardCharsets.UTF_8);
            assertTrue(g.contentEquals(i, padded, 2, padded.length - 1));
            assertFalse(g.contentEquals(i, padded, 0, padded.length));
        }
    }

    @Test
    void elementsCompareWithEachOther() {
        GgufStrings g = GgufStrings.of("ab", "a", "ab", "", "b");
        assertTrue(g.contentEquals(0, 2));
        assertTrue(g.contentEquals(1, 1));
        assertFalse(g.contentEquals(0, 1), "a prefix is not the text");
        assertFalse(g.contentEquals(3, 4));
    }

    @Test
    void equalityIsByContent() {
        assertEquals(GgufStrings.of(TEXTS), GgufStrings.of(TEXTS.clone()));
        assertEquals(GgufStrings.of(TEXTS).hashCode(), GgufStrings.of(TEXTS.clone()).hashCode());
        assertNotEquals(GgufStrings.of("ab", "c"), GgufStrings.of("a", "bc"), "same bytes, other boundaries");
        assertNotEquals(GgufStrings.of("a", "b"), GgufStrings.of("a", "c"));
        assertEquals(GgufStrings.of(), GgufStrings.of());
    }
}
