package dev.edgellm.core.tokenizer;

import dev.edgellm.core.gguf.GgufArray;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufMetadata;
import dev.edgellm.core.gguf.GgufStrings;
import dev.edgellm.core.gguf.GgufValueType;
import java.util.List;
import java.util.Locale;

/**
 * A SentencePiece vocabulary as llama.cpp loads it ({@code llama_vocab::impl::load}): pieces,
 * scores and token types from the GGUF metadata, the special-token ids and their SPM defaults, the
 * re-typing of tokens by their text (end-of-turn, FIM, "unused"), the end-of-generation set, the
 * special-token partition order and the byte-fallback tokens. Immutable once built; the
 * {@link SpmEncoder} and {@link PieceDecoder} read it.
 */
final class Vocabulary {
    // GGUF keys
    static final String KEY_MODEL = "tokenizer.ggml.model";
    static final String KEY_TOKENS = "tokenizer.ggml.tokens";
    static final String KEY_SCORES = "tokenizer.ggml.scores";
    static final String KEY_TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String KEY_BOS = "tokenizer.ggml.bos_token_id";
    static final String KEY_EOS = "tokenizer.ggml.eos_token_id";
    static final String KEY_EOT = "tokenizer.ggml.eot_token_id";
    static final String KEY_EOM = "tokenizer.ggml.eom_token_id";
    static final String KEY_UNK = "tokenizer.ggml.unknown_token_id";
    static final String KEY_ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String KEY_ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String KEY_ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    // llama_token_attr bits (llama.h)
    static final int ATTR_UNKNOWN = 1;
    static final int ATTR_UNUSED = 1 << 1;
    static final int ATTR_NORMAL = 1 << 2;
    static final int ATTR_CONTROL = 1 << 3;
    static final int ATTR_USER_DEFINED = 1 << 4;
    static final int ATTR_BYTE = 1 << 5;
    static final int ATTR_LSTRIP = 1 << 7;
    static final int ATTR_RSTRIP = 1 << 8;

    static final char SPACE_MARK = '\u2581'; // '▁', SentencePiece's escaped space

    /** Texts llama.cpp takes as the end-of-turn token when {@code eot_token_id} is absent. */
    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<end_of_utterance>");
    private static final List<String> EOM_TEXTS = List.of("<|eom_id|>");
    private static final List<String> FIM_PRE_TEXTS = List.of("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\uFF5Cfim\u2581begin\uFF5C>",
            "<PRE>", "\u2581<PRE>", "<|code_prefix|>", "<|prefix|>");
    private static final List<String> FIM_SUF_TEXTS = List.of("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\uFF5Cfim\u2581hole\uFF5C>",
            "<SUF>", "\u2581<SUF>", "<|code_suffix|>", "<|suffix|>");
    private static final List<String> FIM_MID_TEXTS = List.of("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\uFF5Cfim\u2581end\uFF5C>",
            "<MID>", "\u2581<MID>", "<|code_middle|>", "<|middle|>");
    private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");
    private static final List<String> FIM_REP_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");
    private static final List<String> FIM_SEP_TEXTS = List.of("<|file_sep|>");
    /** Texts llama.cpp always counts as end of generation (and forces to control type). */
    private static final List<String> EOG_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
            "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
            "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "[e~[");

    /** Piece texts as UTF-8 (a {@code String} each would be ~56 bytes per token). */
    final GgufStrings texts;
    /**
     * Scores: the metadata's own {@code float[]} when the file stores f32 (shared, never written:
     * a copy would be another 1 MB per 262,144 tokens that the loaded file keeps anyway).
     */
    final float[] scores;
    /** {@link TokenType#id()} of each token, one byte each (a {@code TokenType[]} takes 4 bytes per token). */
    final byte[] types;
    final int[] attrs;
    final TokenIndex ids;
    final int bos;
    final int eos;
    final int unk;
    final boolean addBos;
    final boolean addEos;
    final boolean addSpacePrefix;
    final boolean[] eog;
    /** Token of each byte for byte fallback ({@code <0xNN>}, else the one-character ASCII token), -1 if none. */
    final int[] byteTokens = new int[256];
    /** Longest token text in chars: no bigram longer than this can be a token. */
    final int maxTokenChars;
    /** Special-token candidates (control, user-defined, unknown) in llama.cpp's partition order. */
    final int[] specials;
    /** Texts of {@link #specials}, in the same order. */
    final String[] specialTexts;
    final SpecialTokenTrie specialTrie;

    private Vocabulary(String source, GgufStrings pieces, float[] scores, int[] rawTypes, GgufMetadata md) {
        int n = pieces.length();
        this.texts = renameEmpty(pieces);
        this.scores = scores;
        this.types = new byte[n];
        this.attrs = new int[n];
        int maxChars = 0;
        try {
            this.ids = new TokenIndex(texts);
        } catch (IllegalArgumentException e) {
            throw new GgufFormatException(source + ": duplicate token in vocabulary '" + KEY_TOKENS + "': " + e.getMessage());
        }
        for (int i = 0; i < n; i++) {
            maxChars = Math.max(maxChars, texts.charLength(i));
            TokenType t = rawTypes == null ? TokenType.NORMAL : TokenType.of(rawTypes[i]);
            types[i] = (byte) t.id();
            attrs[i] = switch (t) {
                case UNDEFINED -> 0;
                case NORMAL -> ATTR_NORMAL;
                case UNKNOWN -> ATTR_UNKNOWN;
                case CONTROL -> ATTR_CONTROL;
                case USER_DEFINED -> ATTR_USER_DEFINED;
                case UNUSED -> ATTR_UNUSED;
                case BYTE -> ATTR_BYTE;
            };
        }
        this.maxTokenChars = maxChars;

        // Special token ids: llama.cpp's SPM defaults (bos 1, eos 2, unk 0) unless out of range;
        // a key with an out-of-range value is ignored (llama.cpp warns "bad special token").
        this.bos = specialId(md, KEY_BOS, 1, n);
        this.eos = specialId(md, KEY_EOS, 2, n);
        this.unk = specialId(md, KEY_UNK, 0, n);
        int eot = specialId(md, KEY_EOT, -1, n);
        int eom = specialId(md, KEY_EOM, -1, n);
        int fimPre = specialId(md, "tokenizer.ggml.prefix_token_id", specialId(md, "tokenizer.ggml.fim_pre_token_id", -1, n), n);
        int fimSuf = specialId(md, "tokenizer.ggml.suffix_token_id", specialId(md, "tokenizer.ggml.fim_suf_token_id", -1, n), n);
        int fimMid = specialId(md, "tokenizer.ggml.middle_token_id", specialId(md, "tokenizer.ggml.fim_mid_token_id", -1, n), n);
        int fimPad = specialId(md, "tokenizer.ggml.fim_pad_token_id", -1, n);
        int fimRep = specialId(md, "tokenizer.ggml.fim_rep_token_id", -1, n);
        int fimSep = specialId(md, "tokenizer.ggml.fim_sep_token_id", -1, n);

        this.addBos = md.getBoolean(KEY_ADD_BOS, true);
        this.addEos = md.getBoolean(KEY_ADD_EOS, false);
        this.addSpacePrefix = md.getBoolean(KEY_ADD_SPACE_PREFIX, true);
        if (addBos && bos < 0) {
            throw new GgufFormatException(source + ": " + KEY_ADD_BOS + " is true, but " + KEY_BOS + " is not set (or out of range)");
        }
        if (addEos && eos < 0) {
            throw new GgufFormatException(source + ": " + KEY_ADD_EOS + " is true, but " + KEY_EOS + " is not set (or out of range)");
        }

        // Auto-detected special tokens: the detected token is forced to control type.
        eot = eot >= 0 ? eot : detect(EOT_TEXTS);
        eom = eom >= 0 ? eom : detect(EOM_TEXTS);
        if (fimPre < 0) {
            detect(FIM_PRE_TEXTS);
        }
        if (fimSuf < 0) {
            detect(FIM_SUF_TEXTS);
        }
        if (fimMid < 0) {
            detect(FIM_MID_TEXTS);
        }
        fimPad = fimPad >= 0 ? fimPad : detect(FIM_PAD_TEXTS);
        fimRep = fimRep >= 0 ? fimRep : detect(FIM_REP_TEXTS);
        fimSep = fimSep >= 0 ? fimSep : detect(FIM_SEP_TEXTS);

        // Control tokens whose text says "unused" are unused.
        for (int i = 0; i < n; i++) {
            if ((attrs[i] & ATTR_CONTROL) != 0 && texts.get(i).contains("unused")) {
                attrs[i] |= ATTR_UNUSED;
            }
        }

        // End-of-generation set, as llama.cpp builds special_eog_ids.
        this.eog = new boolean[n];
        for (int id : new int[] {fimPad, fimRep, fimSep}) {
            if (id >= 0) {
                eog[id] = true;
            }
        }
        for (String t : EOG_TEXTS) {
            int id = ids.get(t);
            if (id >= 0) {
                eog[id] = true;
                forceControl(id);
            }
        }
        for (int id : new int[] {eos, eot, eom}) {
            if (id >= 0) {
                eog[id] = true;
            }
        }
        // (llama.cpp also special-cases "<|channel|>"-style tokens and the end-of-generation role of
        // "<|end|>" and "</s>" for the o200k_harmony, solar-open and gemma4 vocabularies; those are
        // BPE vocabularies, which fromGguf refuses, so none of that applies here.)

        // Special-token cache: control, user-defined and unknown tokens, longest text (in UTF-8
        // bytes) first, ordered exactly as libstdc++'s std::sort leaves them.
        int count = 0;
        for (int i = 0; i < n; i++) {
            if ((attrs[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0) {
                count++;
            }
        }
        int[] cache = new int[count];
        int[] utf8Length = new int[n];
        for (int i = 0, c = 0; i < n; i++) {
            if ((attrs[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0) {
                cache[c++] = i;
                utf8Length[i] = texts.byteLength(i);
            }
        }
        StdSort.sort(cache, (a, b) -> utf8Length[a] > utf8Length[b]);
        this.specials = cache;
        this.specialTexts = new String[count];
        for (int c = 0; c < count; c++) {
            specialTexts[c] = texts.get(cache[c]);
        }
        this.specialTrie = new SpecialTokenTrie(specialTexts);

        // Phi-3 (an SPM model): special tokens swallow the whitespace after them, except these.
        String name = md.findString("general.name").orElse("").toLowerCase(Locale.ROOT);
        if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : cache) {
                attrs[id] |= ATTR_RSTRIP;
            }
            setAttr("</s>", ATTR_RSTRIP, true);
            for (String t : List.of("<unk>", "<s>", "<|endoftext|>")) {
                setAttr(t, ATTR_RSTRIP, false);
            }
        }

        // Byte fallback tokens.
        for (int b = 0; b < 256; b++) {
            int id = ids.get(String.format("<0x%02X>", b));
            if (id < 0 && b > 0 && b < 0x80) {
                // llama.cpp falls back to the byte itself as a one-character token (NUL is its empty C string)
                id = ids.get(String.valueOf((char) b));
            }
            byteTokens[b] = id;
        }
    }

    /**
     * Builds the tokenizer of a GGUF file's vocabulary.
     *
     * @throws GgufFormatException when a required key is missing or of the wrong type, when the
     *                             tokens, scores and token types arrays differ in length, when the
     *                             tokenizer model is not {@code llama}, or when the vocabulary is
     *                             inconsistent (duplicate tokens, BOS required but absent)
     */
    static Vocabulary fromGguf(GgufMetadata md) {
        String source = md.source();
        String model = md.getString(KEY_MODEL);
        if (!model.equals("llama")) {
            throw new GgufFormatException(source + ": tokenizer model '" + model + "' is not supported (" + KEY_MODEL
                    + " must be 'llama', a SentencePiece vocabulary)");
        }
        GgufStrings tokens = md.getStrings(KEY_TOKENS);
        int n = tokens.length();
        if (n == 0) {
            throw new GgufFormatException(source + ": metadata key '" + KEY_TOKENS + "' is an empty array");
        }
        float[] scores;
        GgufArray sa = md.findArray(KEY_SCORES).orElse(null);
        if (sa == null) {
            scores = new float[n];
        } else {
            requireLength(source, KEY_SCORES, sa, n);
            switch (sa.elementType()) {
                case FLOAT32 -> scores = (float[]) sa.data();
                case INT32 -> {
                    int[] is = (int[]) sa.data();
                    scores = new float[n];
                    for (int i = 0; i < n; i++) {
                        scores[i] = is[i];
                    }
                }
                default -> throw new GgufFormatException(source + ": metadata key '" + KEY_SCORES + "' is an array of "
                        + sa.elementType().shortName() + ", expected f32 (or i32)");
            }
        }
        int[] rawTypes = null;
        GgufArray ta = md.findArray(KEY_TOKEN_TYPE).orElse(null);
        if (ta != null) {
            requireLength(source, KEY_TOKEN_TYPE, ta, n);
            if (ta.elementType() != GgufValueType.INT32 && ta.elementType() != GgufValueType.UINT32) {
                throw new GgufFormatException(source + ": metadata key '" + KEY_TOKEN_TYPE + "' is an array of "
                        + ta.elementType().shortName() + ", expected i32");
            }
            rawTypes = (int[]) ta.data();
        }
        return new Vocabulary(source, tokens, scores, rawTypes, md);
    }

    private static void requireLength(String source, String key, GgufArray a, int n) {
        if (a.length() != n) {
            throw new GgufFormatException(source + ": metadata key '" + key + "' has " + a.length() + " entries but '" + KEY_TOKENS
                    + "' has " + n + " tokens; the arrays must have the same length");
        }
    }

    /** A special token id key: its value if in range, else {@code def} (itself -1 when out of range). */
    private static int specialId(GgufMetadata md, String key, int def, int n) {
        if (def >= n) {
            def = -1;
        }
        GgufMetadata.Entry e = md.entry(key).orElse(null);
        if (e == null) {
            return def;
        }
        if (!(e.value() instanceof Long v)) {
            throw new GgufFormatException(md.source() + ": metadata key '" + key + "' at offset " + e.offset() + " is "
                    + e.type().shortName() + ", expected an integer token id");
        }
        return v >= 0 && v < n ? (int) (long) v : def;
    }

    /** The lowest id among tokens with one of these texts, forced to control type; -1 if none. */
    private int detect(List<String> candidates) {
        int best = -1;
        for (String t : candidates) {
            int id = ids.get(t);
            if (id >= 0 && (best < 0 || id < best)) {
                best = id;
            }
        }
        if (best >= 0) {
            forceControl(best);
        }
        return best;
    }

    private void forceControl(int id) {
        if ((attrs[id] & ATTR_CONTROL) == 0) {
            attrs[id] |= ATTR_CONTROL;
            types[id] = (byte) TokenType.CONTROL.id();
        }
    }

    private void setAttr(String text, int attr, boolean value) {
        int id = ids.get(text);
        if (id >= 0) {
            attrs[id] = value ? attrs[id] | attr : attrs[id] & ~attr;
        }
    }

    int size() {
        return texts.length();
    }

    int check(int id) {
        if (id < 0 || id >= texts.length()) {
            throw new IllegalArgumentException("token id " + id + " is out of range (vocabulary has " + texts.length() + " tokens)");
        }
        return id;
    }

    /** The vocabulary with empty texts renamed {@code [EMPTY_<id>]}, as llama.cpp does. */
    private static GgufStrings renameEmpty(GgufStrings pieces) {
        for (int i = 0; i < pieces.length(); i++) {
            if (pieces.byteLength(i) == 0) {
                String[] t = pieces.toArray();
                for (int k = i; k < t.length; k++) {
                    if (t[k].isEmpty()) {
                        t[k] = "[EMPTY_" + k + "]";
                    }
                }
                return GgufStrings.of(t);
            }
        }
        return pieces;
    }

}
