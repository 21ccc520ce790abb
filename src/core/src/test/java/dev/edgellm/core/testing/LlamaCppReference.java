package dev.edgellm.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;

/**
 * What llama.cpp computed for a shared model ({@code shared/reference/*.llama-cpp.json}): per prompt
 * the token ids, the top-10 logits at every position, the full logits at the last position, and
 * the greedy continuation with its top-10 per step.
 */
public record LlamaCppReference(String model, int vocab, List<Case> cases) {

    /** One (id, logit) pair of a top-k list. */
    public record Logit(int id, float logit) {}

    /**
     * @param text        the prompt
     * @param tokens      its token ids (with BOS)
     * @param topk        per prompt position, the reference top-10
     * @param lastLogits  every logit at the last prompt position (decoded from f16)
     * @param greedy      greedy continuation ids
     * @param greedyTopk  per greedy step, a reference top-10 as the file lists it: in the older files
     *                    entry {@code i} is after feeding {@code greedy[i]}, in the newer ones (no
     *                    {@code full_logits}) entry {@code i} is what {@code greedy[i]} was chosen
     *                    from; {@link #chooserTopk} hides the difference
     */
    public record Case(String text, int[] tokens, List<Logit[]> topk, float[] lastLogits, int[] greedy, List<Logit[]> greedyTopk) {
        /** The reference top-10 that greedy step {@code i} chose {@code greedy[i]} from. */
        public Logit[] chooserTopk(int i) {
            Logit[] last = topk.get(topk.size() - 1);
            boolean aligned = !greedyTopk.isEmpty() && java.util.Arrays.equals(greedyTopk.get(0), last);
            if (aligned) {
                return greedyTopk.get(i);
            }
            return i == 0 ? last : greedyTopk.get(i - 1);
        }

        /** Gap between the reference's best and second-best logit in a top-k list. */
        public static float gap(Logit[] top) {
            return top[0].logit() - top[1].logit();
        }
    }

    public static LlamaCppReference load(Path json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json.toFile());
        List<Case> cases = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            int[] tokens = ints(c.get("tokens"));
            float[] last = null;
            JsonNode full = c.get("full_logits");
            if (full != null && full.size() > 0) {
                Iterator<String> names = full.fieldNames();
                String pos = names.next();
                byte[] raw = Base64.getDecoder().decode(full.get(pos).asText());
                ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
                last = new float[raw.length / 2];
                for (int i = 0; i < last.length; i++) {
                    last[i] = Float.float16ToFloat(bb.getShort());
                }
                if (Integer.parseInt(pos) != tokens.length - 1) {
                    throw new IllegalStateException("full logits at position " + pos + ", expected the last (" + (tokens.length - 1) + ")");
                }
            }
            cases.add(new Case(c.get("text").asText(), tokens, topk(c.get("topk")), last, ints(c.get("greedy")), topk(c.get("greedy_topk"))));
        }
        return new LlamaCppReference(root.get("model").asText(), root.get("n_vocab").asInt(), cases);
    }

    private static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }

    private static List<Logit[]> topk(JsonNode arr) {
        List<Logit[]> out = new ArrayList<>();
        if (arr == null) {
            return out;
        }
        for (JsonNode pos : arr) {
            Logit[] l = new Logit[pos.size()];
            for (int i = 0; i < l.length; i++) {
                l[i] = new Logit(pos.get(i).get(0).asInt(), (float) pos.get(i).get(1).asDouble());
            }
            out.add(l);
        }
        return out;
    }
}
