package dev.edgellm.core.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {
    @Test
    void everyIndexRunsExactlyOnceAcrossManyCalls() {
        try (WorkerPool pool = new WorkerPool(3, "test")) {
            for (int round = 0; round < 2000; round++) {
                int n = 1 + round % 97;
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                pool.parallelFor(n, 1, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n; i++) {
                    assertEquals(1, hits.get(i), "index " + i + " in round " + round);
                }
            }
        }
    }

    @Test
    void exceptionsReachTheCallerAndThePoolKeepsWorking() {
        try (WorkerPool pool = new WorkerPool(2, "test")) {
            assertThrows(IllegalStateException.class, () -> pool.parallelFor(100, 1, (from, to) -> {
                if (from > 50) {
                    throw new IllegalStateException("boom");
                }
            }));
            int[] sum = new int[1];
            pool.parallelFor(10, 10, (from, to) -> sum[0] += to - from);
            assertEquals(10, sum[0]);
        }
    }
}
