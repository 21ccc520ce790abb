package dev.edgellm.core.sampling;

import java.util.SplittableRandom;

/**
 * Picks the next token from logits. Reuses its buffers: sampling a token allocates nothing.
 * Not thread-safe (one per generation).
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private final int[] ids;       // candidate token ids
    private final float[] values;  // candidate logits, then probabilities
    private final float[] work;    // penalized logits

    public Sampler(SamplingParams params, int vocabSize) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        this.ids = new int[vocabSize];
        this.values = new float[vocabSize];
        this.work = new float[vocabSize];
    }

    public SamplingParams params() {
        return params;
    }

    /** The index of the largest logit (the first one on ties). */
    public static int argmax(float[] logits, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Chooses the next token.
     *
     * @param logits     the model's output (not modified)
     * @param history    tokens so far (for the repetition penalty)
     * @param historyLen how many of {@code history} are valid
     */
    public int sample(float[] logits, int[] history, int historyLen) {
        int n = Math.min(logits.length, work.length);
        float[] l = logits;
        // repetition penalty over the last N tokens
        if (params.repeatPenalty() != 1f && params.repeatLastN() > 0 && historyLen > 0) {
            System.arraycopy(logits, 0, work, 0, n);
            for (int i = Math.max(0, historyLen - params.repeatLastN()); i < historyLen; i++) {
                int t = history[i];
                if (t >= 0 && t < n && work[t] == logits[t]) { // penalize each token once
                    work[t] = work[t] > 0 ? work[t] / params.repeatPenalty() : work[t] * params.repeatPenalty();
                }
            }
            l = work;
        }
        if (params.greedyDecoding()) {
            return argmax(l, n);
        }

        // top-k: the k best candidates, sorted by logit descending (0, or k at least the vocabulary: all)
        int k = params.topK() == 0 ? n : Math.min(params.topK(), n);
        int count = topK(l, n, k);

        // softmax over candidates (top-p and min-p look at the untempered distribution, as llama.cpp)
        softmax(count, 1f);

        // top-p: smallest prefix reaching p
        if (params.topP() < 1f) {
            float cum = 0f;
            for (int i = 0; i < count; i++) {
                cum += values[i];
                if (cum >= params.topP()) {
                    count = i + 1;
                    break;
                }
            }
        }
        // min-p: drop tokens below minP * p(top)
        if (params.minP() > 0f) {
            float threshold = params.minP() * values[0];
            int keep = 1;
            while (keep < count && values[keep] >= threshold) {
                keep++;
            }
            count = keep;
        }

        // temperature, then draw
        for (int i = 0; i < count; i++) {
            values[i] = l[ids[i]];
        }
        softmax(count, params.temperature());
        double r = random.nextDouble();
        double cum = 0;
        for (int i = 0; i < count; i++) {
            cum += values[i];
            if (r < cum) {
                return ids[i];
            }
        }
        return ids[count - 1];
    }

    /** The ids of the k largest of the first n logits, best first (ties: lower id first); for tests. */
    int[] topKIds(float[] l, int n, int k) {
        return java.util.Arrays.copyOf(ids, topK(l, n, k));
    }

    /**
     * Fills ids/values with the k largest logits, descending (ties: lower id first). A bounded
     * min-heap keeps the k best seen so far, so the cost is O(n log k) for any k up to n (an
     * insertion into a sorted list cost O(n k): minutes per token for k near a 262k vocabulary),
     * then the heap is emptied from the back to leave the candidates sorted. Returns k.
     */
    private int topK(float[] l, int n, int k) {
        int size = 0;
        for (int i = 0; i < n; i++) {
            float v = l[i];
            if (size < k) {
                // sift up: the heap's root is the worst of the kept candidates
                int j = size++;
                while (j > 0) {
                    int parent = (j - 1) >>> 1;
                    if (!worse(v, i, values[parent], ids[parent])) {
                        break;
                    }
                    values[j] = values[parent];
                    ids[j] = ids[parent];
                    j = parent;
                }
                values[j] = v;
                ids[j] = i;
            } else if (worse(values[0], ids[0], v, i)) {
                siftDown(v, i, 0, size);
            }
        }
        // heap sort: move the worst to the end, shrink, repeat; leaves best-first order
        for (int end = size - 1; end > 0; end--) {
            float v = values[end];
            int id = ids[end];
            values[end] = values[0];
            ids[end] = ids[0];
            siftDown(v, id, 0, end);
        }
        return size;
    }

    /** Places (v, id) at heap slot {@code j} of a heap of {@code size}, moving worse children up. */
    private void siftDown(float v, int id, int j, int size) {
        while (true) {
            int c = 2 * j + 1;
            if (c >= size) {
                break;
            }
            if (c + 1 < size && worse(values[c + 1], ids[c + 1], values[c], ids[c])) {
                c++;
            }
            if (!worse(values[c], ids[c], v, id)) {
                break;
            }
            values[j] = values[c];
            ids[j] = ids[c];
            j = c;
        }
        values[j] = v;
        ids[j] = id;
    }

    /** Whether candidate (a, ia) ranks below (b, ib): a smaller logit, or the same logit and a higher id. */
    private static boolean worse(float a, int ia, float b, int ib) {
        return a < b || (a == b && ia > ib);
    }

    /** values[0..count) := softmax(values / temperature), in place. */
    private void softmax(int count, float temperature) {
        float max = values[0];
        for (int i = 1; i < count; i++) {
            max = Math.max(max, values[i]);
        }
        double sum = 0;
        for (int i = 0; i < count; i++) {
            values[i] = (float) Math.exp((values[i] - max) / temperature);
            sum += values[i];
        }
        for (int i = 0; i < count; i++) {
            values[i] = (float) (values[i] / sum);
        }
    }
}
