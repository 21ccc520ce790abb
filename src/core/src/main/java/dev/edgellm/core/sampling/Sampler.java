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

        // top-k: the k best candidates, sorted by logit descending
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

    /** Fills ids/values with the k largest logits, descending. Returns k. */
    private int topK(float[] l, int n, int k) {
        if (k == n) {
            for (int i = 0; i < n; i++) {
                ids[i] = i;
            }
            sortDescending(l, n);
            return n;
        }
        // insertion into a sorted list of k: fine for the usual k of tens
        int size = 0;
        for (int i = 0; i < n; i++) {
            float v = l[i];
            if (size == k && v <= values[k - 1]) {
                continue;
            }
            int j = size == k ? k - 1 : size++;
            while (j > 0 && values[j - 1] < v) {
                values[j] = values[j - 1];
                ids[j] = ids[j - 1];
                j--;
            }
            values[j] = v;
            ids[j] = i;
        }
        return size;
    }

    private void sortDescending(float[] l, int n) {
        // top-k disabled: sort the whole vocabulary by logit (rare; boxing is acceptable here)
        Integer[] boxed = new Integer[n];
        for (int i = 0; i < n; i++) {
            boxed[i] = i;
        }
        java.util.Arrays.sort(boxed, (a, b) -> Float.compare(l[b], l[a]));
        for (int i = 0; i < n; i++) {
            ids[i] = boxed[i];
            values[i] = l[boxed[i]];
        }
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
