package dev.edgellm.backend.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgellm.core.backend.Activations;
import dev.edgellm.core.backend.AttentionSpec;
import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.backend.KvCache;
import dev.edgellm.core.backend.KvCacheSpec;
import dev.edgellm.core.backend.scalar.ScalarBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The tiled KV cache and attention kernel against the scalar oracle, bit for bit, at this JVM's
 * species (Surefire runs the class at 512, 256 and 128 bits): llama.cpp's f16 flash arithmetic
 * below 64 queries, the float path from 64 queries on and for f32 caches, windows, ring buffers that
 * wrap, soft-capping, grouped heads, head sizes below a vector.
 */
class TiledAttentionTest {

    static Stream<Arguments> cases() {
        List<Arguments> c = new ArrayList<>();
        // heads, kvHeads, keyDim, valueDim, window, startPos, n, capacity, f16, softcap
        c.add(Arguments.of(4, 1, 256, 256, 0, 40, 1, 64, true, 0f));      // decode, Gemma 3 1B heads
        c.add(Arguments.of(4, 1, 256, 256, 16, 50, 3, 18, true, 0f));     // sliding window ring that wraps
        c.add(Arguments.of(8, 8, 8, 8, 0, 5, 9, 32, true, 0f));           // head size below a vector (stories260K)
        c.add(Arguments.of(4, 2, 64, 64, 0, 10, 70, 96, true, 0f));       // 64+ queries: float path
        c.add(Arguments.of(2, 1, 48, 40, 0, 7, 5, 40, false, 0f));        // f32 cache, odd sizes
        c.add(Arguments.of(2, 2, 32, 32, 12, 30, 20, 31, true, 30f));     // softcap, window, capacity not a tile multiple
        c.add(Arguments.of(4, 1, 256, 256, 0, 0, 1, 8, true, 0f));        // the first position alone
        return c.stream();
    }

    @ParameterizedTest(name = "heads={0}/{1} k={2} v={3} window={4} start={5} n={6} cap={7} f16={8} softcap={9}")
    @MethodSource("cases")
    void outputsAreTheOraclesBits(int heads, int kvHeads, int keyDim, int valueDim, int window, int start, int n, int capacity,
                                  boolean f16, float softcap) {
        SplittableRandom r = new SplittableRandom(heads * 131L + keyDim * 7L + start + n);
        AttentionSpec spec = new AttentionSpec(heads, kvHeads, keyDim, valueDim, (float) (1 / Math.sqrt(keyDim)), window, softcap);
        KvCacheSpec cs = new KvCacheSpec(new int[] {capacity}, kvHeads, keyDim, valueDim, f16);
        int total = start + n;
        float[] k = TestTensors.gaussian(r, total * kvHeads * keyDim, 1.5);
        float[] v = TestTensors.gaussian(r, total * kvHeads * valueDim, 1.0);
        float[] q = TestTensors.gaussian(r, n * heads * keyDim, 1.5);
        float[][] res = new float[2][];
        Backend[] bs = {new ScalarBackend(1), new VectorBackend(2)};
        for (int b = 0; b < 2; b++) {
            try (Backend be = bs[b]; KvCache cache = be.kvCache(cs)) {
                // history in batches the ring can take, then the queries' own batch
                int chunk = Math.max(1, capacity - (window > 0 ? window : 0) + 1);
                for (int p = 0; p < total; ) {
                    int len = p < start ? Math.min(chunk, start - p) : n;
                    Activations ka = be.allocate(len * kvHeads * keyDim);
                    Activations va = be.allocate(len * kvHeads * valueDim);
                    be.write(k, p * kvHeads * keyDim, ka, 0, len * kvHeads * keyDim);
                    be.write(v, p * kvHeads * valueDim, va, 0, len * kvHeads * valueDim);
                    be.kvStore(cache, 0, ka, va, p, len);
                    p += len;
                }
                Activations qa = be.allocate(q.length);
                be.write(q, 0, qa, 0, q.length);
                Activations out = be.allocate(n * heads * valueDim);
                be.attention(qa, cache, 0, start, n, spec, out);
                res[b] = new float[n * heads * valueDim];
                be.read(out, 0, res[b], 0, res[b].length);
            }
        }
        for (int i = 0; i < res[0].length; i++) {
            if (Float.floatToRawIntBits(res[0][i]) != Float.floatToRawIntBits(res[1][i])) {
                throw new AssertionError(String.format("out[%d] (token %d): oracle %s, vector %s", i, i / (heads * valueDim), res[0][i], res[1][i]));
            }
        }
    }
}
