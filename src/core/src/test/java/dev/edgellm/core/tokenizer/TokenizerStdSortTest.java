package dev.edgellm.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@link StdSort} against GNU libstdc++ (GCC 12.2): the expected values are hashes of the orders
 * that {@code std::sort} and {@code std::partial_sort(first, last, last)} produced for the same
 * pseudo-random inputs with many equal keys, where an unstable sort shows its hand. The generator
 * program is in the comment of {@link #orderHash}.
 */
class TokenizerStdSortTest {

    /** {mode (0 = std::sort, 1 = heapsort via partial_sort), n, number of distinct keys, hash of the resulting order}. */
    private static final long[][] LIBSTDCXX = {
        {0, 0, 1, 0x0000000000000011L}, {0, 0, 3, 0x0000000000000011L}, {0, 0, 10, 0x0000000000000011L}, {0, 0, 1000, 0x0000000000000011L},
        {0, 1, 1, 0x000000000000020fL}, {0, 1, 3, 0x000000000000020fL}, {0, 1, 10, 0x000000000000020fL}, {0, 1, 1000, 0x000000000000020fL},
        {0, 2, 1, 0x0000000000003fd2L}, {0, 2, 3, 0x0000000000003fd2L}, {0, 2, 10, 0x0000000000003ff0L}, {0, 2, 1000, 0x0000000000003fd2L},
        {0, 5, 1, 0x000000001d02ded1L}, {0, 5, 3, 0x000000001d3ac873L}, {0, 5, 10, 0x000000001d1f066fL}, {0, 5, 1000, 0x000000001d2d924dL},
        {0, 16, 1, 0x7c1ad5d940102e19L}, {0, 16, 3, 0xa382422ae5bda611L}, {0, 16, 10, 0x70e548a89d304d6fL}, {0, 16, 1000, 0xd99ceb3b6b8fbc2bL},
        {0, 17, 1, 0xbb91c56e66ff2d17L}, {0, 17, 3, 0xfb3c58a7e42dedcbL}, {0, 17, 10, 0xf3b2b523e6ce59e3L}, {0, 17, 1000, 0xedcef55af8ee26afL},
        {0, 33, 1, 0xa0b3e6086f0faf61L}, {0, 33, 3, 0xb68d2ab722bb5087L}, {0, 33, 10, 0xccb01282270b4357L}, {0, 33, 1000, 0x1ca85d0c900d50fbL},
        {0, 100, 1, 0x08144de5dd2161e7L}, {0, 100, 3, 0x0ee4412eb70c1f17L}, {0, 100, 10, 0x47490d539a0646c7L}, {0, 100, 1000, 0xcc9cf10f578cd44dL},
        {0, 1000, 1, 0x6c8de7ae6523a29dL}, {0, 1000, 3, 0x23e2751289a2831dL}, {0, 1000, 10, 0xb7fe03d869a5bed7L}, {0, 1000, 1000, 0xc9b0be1ecf4089d5L},
        {0, 20000, 1, 0x5ed545cf4e8cff01L}, {0, 20000, 3, 0x8284f53ba7de7dc5L}, {0, 20000, 10, 0x06a73873a34d76d3L}, {0, 20000, 1000, 0x0a2f393e20502a53L},
        {1, 0, 1, 0x0000000000000011L}, {1, 0, 3, 0x0000000000000011L}, {1, 0, 10, 0x0000000000000011L}, {1, 0, 1000, 0x0000000000000011L},
        {1, 1, 1, 0x000000000000020fL}, {1, 1, 3, 0x000000000000020fL}, {1, 1, 10, 0x000000000000020fL}, {1, 1, 1000, 0x000000000000020fL},
        {1, 2, 1, 0x0000000000003fd2L}, {1, 2, 3, 0x0000000000003fd2L}, {1, 2, 10, 0x0000000000003ff0L}, {1, 2, 1000, 0x0000000000003fd2L},
        {1, 5, 1, 0x000000001d2e7e51L}, {1, 5, 3, 0x000000001d3acc15L}, {1, 5, 10, 0x000000001d1f066fL}, {1, 5, 1000, 0x000000001d2d924dL},
        {1, 16, 1, 0x65944f013d3dd977L}, {1, 16, 3, 0x5fc26b1956dbc281L}, {1, 16, 10, 0xd88cca4f3e0f44abL}, {1, 16, 1000, 0xd99ceb3b6b8fbc2bL},
        {1, 17, 1, 0x9fd21e24f3eea4ebL}, {1, 17, 3, 0xdcac92a946881b7dL}, {1, 17, 10, 0x5debab19d8035e7fL}, {1, 17, 1000, 0xedcef55af8ee26afL},
        {1, 33, 1, 0x2e879be279338d67L}, {1, 33, 3, 0x6ada454ed0c86b31L}, {1, 33, 10, 0xe453a93b60fb5ec7L}, {1, 33, 1000, 0x1ca85d0c900d50fbL},
        {1, 100, 1, 0x55d27f19c7865f11L}, {1, 100, 3, 0x4bf038da13722b6bL}, {1, 100, 10, 0xe705b95dcb79f8ebL}, {1, 100, 1000, 0x807adbfb4aabebffL},
        {1, 1000, 1, 0xc5416a1867e9d0a9L}, {1, 1000, 3, 0x876b72729385c319L}, {1, 1000, 10, 0x08a1a5625cf6bba1L}, {1, 1000, 1000, 0x3f527696261315b3L},
        {1, 20000, 1, 0xb107c9c446e6dc95L}, {1, 20000, 3, 0x5f9e10314796d04bL}, {1, 20000, 10, 0xe312527f67694d43L}, {1, 20000, 1000, 0xd9a9b3a28181cecfL},
    };

    @Test
    void matchesLibstdcxxOnInputsWithTies() {
        for (long[] row : LIBSTDCXX) {
            int mode = (int) row[0];
            int n = (int) row[1];
            int k = (int) row[2];
            long x = 42 + n * 7L + k;
            int[] key = new int[n];
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
                key[i] = (int) Long.remainderUnsigned(x >>> 33, k);
                ids[i] = i;
            }
            StdSort.IntLess comp = (a, b) -> key[a] > key[b];
            if (mode == 0) {
                StdSort.sort(ids, comp);
            } else {
                StdSort.heapSort(ids, comp);
            }
            assertEquals(row[3], orderHash(ids), "mode " + mode + ", n " + n + ", " + k + " keys");
            for (int i = 1; i < n; i++) {
                assertEquals(true, key[ids[i - 1]] >= key[ids[i]], "sorted");
            }
        }
    }

    /**
     * The special-token order of the Gemma vocabulary (6,322 control, user-defined and unknown
     * tokens, mostly of equal lengths) equals the order llama.cpp's std::sort gives, checked with
     * the same C++ lambda ({@code len[a] > len[b]} over ids in ascending order) compiled by g++ 12.
     */
    @Test
    void gemmaSpecialTokenOrderMatchesLlamaCppOnLinux() {
        Tokenizer tok = TestTokenizers.gemma();
        int[] specials = tok.specialTokenOrder();
        assertEquals(6322, specials.length);
        assertEquals(0x23e8d4e753cdb4c2L, orderHash(specials));
        for (int i = 1; i < specials.length; i++) {
            int a = tok.tokenText(specials[i - 1]).getBytes(StandardCharsets.UTF_8).length;
            int b = tok.tokenText(specials[i]).getBytes(StandardCharsets.UTF_8).length;
            assertEquals(true, a >= b, "longest first");
        }
    }

    /**
     * <pre>
     * // expected values: for each (mode, n, K): x = 42 + n*7 + K; key[i] = ((x = x*6364136223846793005 + 1442695040888963407) >> 33) % K;
     * // std::sort (mode 0) or std::partial_sort(b, e, e) (mode 1) of ids 0..n-1 with [&](int a, int b) { return key[a] > key[b]; };
     * // h = 17; for (id : ids) h = h * 31 + id;  (uint64_t)
     * </pre>
     */
    private static long orderHash(int[] ids) {
        long h = 17;
        for (int id : ids) {
            h = h * 31 + id;
        }
        return h;
    }
}
