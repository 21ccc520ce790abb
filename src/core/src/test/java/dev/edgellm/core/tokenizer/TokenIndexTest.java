package dev.edgellm.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgufStrings;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vocabulary's text-to-id table, against a {@link HashMap} over the same texts. */
class TokenIndexTest {
    @Test
    void findsEveryTextAndNothingElse() {
        SplittableRandom rnd = new SplittableRandom(7);
        String[] texts = new String[5000];
        Map<String, Integer> expected = new HashMap<>();
        for (int i = 0; i < texts.length; i++) {
            String t;
            do {
                // short texts with colliding String hash codes ("Aa" and "BB") and non-ASCII ones
                StringBuilder b = new StringBuilder();
                for (int k = 0, n = 1 + rnd.nextInt(4); k < n; k++) {
                    b.append(switch (rnd.nextInt(4)) {
                        case 0 -> "Aa";
                        case 1 -> "BB";
                        case 2 -> "\u2581";
                        default -> Character.toString('a' + rnd.nextInt(26));
                    });
                }
                t = b.toString();
            } while (expected.containsKey(t));
            texts[i] = t;
            expected.put(t, i);
        }
        TokenIndex index = new TokenIndex(GgufStrings.of(texts));
        for (int i = 0; i < texts.length; i++) {
            assertEquals(i, index.get(texts[i]), texts[i]);
        }
        for (String absent : new String[] {"", "AaBBAaBBAa", "\u2581\u2581\u2581\u2581\u2581", "zzzzzzzzz"}) {
            assertEquals(expected.getOrDefault(absent, -1), index.get(absent), absent);
        }
    }

    @Test
    void aLoneSurrogateMatchesNothing() {
        TokenIndex index = new TokenIndex(GgufStrings.of("?", "a?", "\uD834\uDD1E"));
        assertEquals(-1, index.get("\uD800"));
        assertEquals(-1, index.get("a\uDC00"));
        assertEquals(0, index.get("?"));
        assertEquals(1, index.get("a?"));
        assertEquals(2, index.get("\uD834\uDD1E"), "a surrogate pair is an ordinary code point");
    }

    @Test
    void oneTokenVocabulary() {
        TokenIndex index = new TokenIndex(GgufStrings.of("x"));
        assertEquals(0, index.get("x"));
        assertEquals(-1, index.get("y"));
    }

    @Test
    void aDuplicateNamesTheTextAndBothIds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TokenIndex(GgufStrings.of("a", "Aa", "b", "BB", "Aa")));
        assertEquals("'Aa' has ids 1 and 4", e.getMessage());
    }
}
