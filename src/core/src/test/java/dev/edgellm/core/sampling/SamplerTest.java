package dev.edgellm.core.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {1f, 5f, 3f, 4.9f, -2f, 0f};

    @Test
    void greedyTakesArgmaxFirstOnTies() {
        Sampler s = new Sampler(SamplingParams.greedy(), LOGITS.length);
        assertEquals(1, s.sample(LOGITS, new int[0], 0));
        assertEquals(0, Sampler.argmax(new float[] {2f, 2f, 1f}, 3));
    }

    @Test
    void topKOneIsGreedyAtAnyTemperature() {
        Sampler s = new Sampler(SamplingParams.defaults(3).withTopK(1).withTemperature(5f), LOGITS.length);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, s.sample(LOGITS, new int[0], 0));
        }
    }

    @Test
    void topKLimitsCandidates() {
        Sampler s = new Sampler(SamplingParams.defaults(1).withTopK(2).withTopP(1f).withMinP(0f).withTemperature(10f), LOGITS.length);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            seen.add(s.sample(LOGITS, new int[0], 0));
        }
        assertEquals(Set.of(1, 3), seen);
    }

    @Test
    void topPKeepsSmallestNucleus() {
        // p(1) ~ 0.45, p(3) ~ 0.41: top-p 0.5 needs both; 0.3 needs only token 1
        Sampler s = new Sampler(SamplingParams.defaults(1).withTopK(0).withTopP(0.3f).withMinP(0f).withTemperature(1f), LOGITS.length);
        for (int i = 0; i < 100; i++) {
            assertEquals(1, s.sample(LOGITS, new int[0], 0));
        }
        Sampler s2 = new Sampler(SamplingParams.defaults(1).withTopK(0).withTopP(0.5f).withMinP(0f).withTemperature(1f), LOGITS.length);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            seen.add(s2.sample(LOGITS, new int[0], 0));
        }
        assertEquals(Set.of(1, 3), seen);
    }

    @Test
    void minPDropsUnlikelyTokens() {
        Sampler s = new Sampler(SamplingParams.defaults(1).withTopK(0).withTopP(1f).withMinP(0.5f).withTemperature(1f), LOGITS.length);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            seen.add(s.sample(LOGITS, new int[0], 0));
        }
        assertEquals(Set.of(1, 3), seen); // p(2)/p(1) = e^-2 < 0.5
    }

    @Test
    void repetitionPenaltyDemotesRecentTokens() {
        Sampler s = new Sampler(SamplingParams.greedy().withRepeatPenalty(1.1f, 8), LOGITS.length);
        assertEquals(3, s.sample(LOGITS, new int[] {1}, 1)); // 5/1.1 < 4.9
        assertEquals(1, s.sample(LOGITS, new int[] {1, 0, 0, 0, 0, 0, 0, 0, 0}, 9)); // token 1 is out of the last 8
    }

    @Test
    void sameSeedSameDraws() {
        int[] a = new int[30];
        int[] b = new int[30];
        Sampler s1 = new Sampler(SamplingParams.defaults(99).withMinP(0f), LOGITS.length);
        Sampler s2 = new Sampler(SamplingParams.defaults(99).withMinP(0f), LOGITS.length);
        for (int i = 0; i < 30; i++) {
            a[i] = s1.sample(LOGITS, new int[0], 0);
            b[i] = s2.sample(LOGITS, new int[0], 0);
        }
        assertTrue(java.util.Arrays.equals(a, b));
    }

    @Test
    void frequenciesFollowSoftmax() {
        float[] l = {0f, (float) Math.log(3)}; // p = 0.25, 0.75
        Sampler s = new Sampler(new SamplingParams(1f, 0, 1f, 0f, 1f, 0, 5), 2);
        int ones = 0;
        for (int i = 0; i < 20000; i++) {
            ones += s.sample(l, new int[0], 0);
        }
        assertEquals(0.75, ones / 20000.0, 0.02);
    }

    @Test
    void rejectsBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withTemperature(-1f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withTopP(0f));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withTopK(-3));
        assertThrows(IllegalArgumentException.class, () -> SamplingParams.greedy().withMinP(1.5f));
    }

    @Test
    void topKSelectionEqualsAFullSortForEveryK() {
        Random rnd = new Random(11);
        int n = 1000;
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = rnd.nextInt(50) / 4f; // many ties
        }
        int[] sorted = IntStream.range(0, n).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -l[i]).thenComparingInt(i -> i)).mapToInt(Integer::intValue).toArray();
        Sampler s = new Sampler(SamplingParams.defaults(1), n);
        for (int k : new int[] {1, 2, 3, 40, 500, n - 1, n}) {
            assertArrayEquals(java.util.Arrays.copyOf(sorted, k), s.topKIds(l, n, k), "k = " + k);
        }
    }

    /**
     * top_k just below a 262,144-token vocabulary (Gemma 3's) was an insertion into a sorted list:
     * O(vocab * k), seconds per token on the engine's only thread. A heap selection takes
     * milliseconds; the limit here only catches the quadratic case (a hang guard, not a benchmark).
     */
    @Test
    void topKNearTheVocabularySizeIsNotQuadratic() {
        int n = 262_144;
        float[] l = new float[n];
        Random rnd = new Random(5);
        for (int i = 0; i < n; i++) {
            l[i] = (float) rnd.nextGaussian();
        }
        Sampler s = new Sampler(SamplingParams.defaults(9).withTopK(n - 1).withTopP(1f).withMinP(0f), n);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int i = 0; i < 8; i++) {
                int t = s.sample(l, new int[0], 0);
                assertTrue(t >= 0 && t < n);
            }
        });
    }
}
