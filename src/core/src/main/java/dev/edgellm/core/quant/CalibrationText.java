package dev.edgellm.core.quant;

import dev.edgellm.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A calibration text as the sequences the model is run on: the text tokenized once (BOS first, as
 * the model's tokenizer wants it), cut into sequences of {@code context} tokens, each of which
 * starts with BOS in place of its first token (what llama.cpp's imatrix and perplexity tools do).
 * A last sequence shorter than that is kept when it has at least two tokens.
 */
public record CalibrationText(List<int[]> sequences, int tokens, int textTokens) {

    public static CalibrationText of(Tokenizer tok, String text, int context, int maxTokens) {
        int[] all = tok.encode(text, true, false);
        int limit = maxTokens > 0 ? Math.min(maxTokens, all.length) : all.length;
        List<int[]> seqs = new ArrayList<>();
        int used = 0;
        for (int start = 0; start < limit; start += context) {
            int len = Math.min(context, limit - start);
            if (len < 2) {
                break;
            }
            int[] s = new int[len];
            System.arraycopy(all, start, s, 0, len);
            if (tok.addBos()) {
                s[0] = tok.bos();
            }
            seqs.add(s);
            used += len;
        }
        if (seqs.isEmpty()) {
            throw new IllegalArgumentException("the calibration text has " + all.length + " tokens; at least 2 are needed");
        }
        return new CalibrationText(Collections.unmodifiableList(seqs), used, all.length);
    }

    /** The longest sequence. */
    public int longest() {
        int m = 0;
        for (int[] s : sequences) {
            m = Math.max(m, s.length);
        }
        return m;
    }
}
