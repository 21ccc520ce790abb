package dev.edgellm.core.tokenizer;

import dev.edgellm.core.gguf.GgufArray;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufMetadata;
import dev.edgellm.core.gguf.GgufStrings;
import dev.edgellm.core.gguf.GgufValueType;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.PriorityQueue;

/**
 * The SentencePiece ("llama", SPM) tokenizer of a GGUF vocabulary, reproducing llama.cpp's
 * {@code llm_tokenizer_spm} together with its vocabulary loading rules, special-token partitioning
 * ({@code tokenizer_st_partition}) and {@code token_to_piece}. Token ids, end-of-generation tokens
 * and pieces are meant to be identical to what llama.cpp (src/llama-vocab.cpp) produces for the
 * same file.
 *
 * <p>Immutable and thread-safe once built; building indexes the vocabulary once (a text-to-id map
 * and a trie of the special tokens), so encoding costs time proportional to the text, not to the
 * vocabulary.
 *
 * <p>Where llama.cpp's behaviour depends on {@code std::unordered_map} iteration order (which of
 * several look-alike texts becomes the end-of-turn or FIM token when the file does not say), the
 * lowest id is taken.
 */
public final class Tokenizer {
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

    private static final char SPACE_MARK = '\u2581'; // '▁', SentencePiece's escaped space
    private static final byte[] EMPTY = new byte[0];

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
    private final GgufStrings texts;
    private final float[] scores;
    private final TokenType[] types;
    private final int[] attrs;
    private final TokenIndex ids;
    private final int bos;
    private final int eos;
    private final int unk;
    private final boolean addBos;
    private final boolean addEos;
    private final boolean addSpacePrefix;
    private final boolean[] eog;
    /** Token of each byte for byte fallback ({@code <0xNN>}, else the one-character ASCII token), -1 if none. */
    private final int[] byteTokens = new int[256];
    /** Longest token text in chars: no bigram longer than this can be a token. */
    private final int maxTokenChars;
    /** Special-token candidates (control, user-defined, unknown) in llama.cpp's partition order. */
    private final int[] specials;
    /** Texts of {@link #specials}, in the same order. */
    private final String[] specialTexts;
    private final SpecialTokenTrie specialTrie;

    private Tokenizer(String source, GgufStrings pieces, float[] scores, int[] rawTypes, GgufMetadata md) {
        int n = pieces.length();
        this.texts = renameEmpty(pieces);
        this.scores = scores;
        this.types = new TokenType[n];
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
            types[i] = t;
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
        // gpt-oss hack in llama.cpp: these are always rendered.
        for (String t : List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>")) {
            int id = ids.get(t);
            if (id >= 0) {
                attrs[id] = ATTR_USER_DEFINED;
                types[id] = TokenType.USER_DEFINED;
            }
        }
        for (int id : new int[] {eos, eot, eom}) {
            if (id >= 0) {
                eog[id] = true;
            }
        }
        // o200k_harmony / solar-open: "<|end|>" is not end of generation when "<|return|>" and "<|call|>"
        // (or "<|calls|>" and "<|flush|>") are.
        int endId = ids.get("<|end|>");
        if (endId >= 0 && eog[endId]) {
            boolean hasReturn = eogText("<|return|>");
            boolean hasCall = eogText("<|call|>") || eogText("<|calls|>");
            boolean hasFlush = eogText("<|flush|>");
            if ((hasReturn && hasCall) || (hasCall && hasFlush)) {
                eog[endId] = false;
                attrs[endId] = ATTR_USER_DEFINED;
                types[endId] = TokenType.USER_DEFINED;
            }
        }
        // gemma4 / paddleocr: "</s>" is not end of generation when "<|tool_response>" is.
        int sId = ids.get("</s>");
        if (sId >= 0 && eog[sId] && eogText("<|tool_response>")) {
            eog[sId] = false;
            attrs[sId] = ATTR_NORMAL;
            types[sId] = TokenType.NORMAL;
        }

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
    public static Tokenizer fromGguf(GgufMetadata md) {
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
        float[] scores = new float[n];
        GgufArray sa = md.findArray(KEY_SCORES).orElse(null);
        if (sa != null) {
            requireLength(source, KEY_SCORES, sa, n);
            switch (sa.elementType()) {
                case FLOAT32 -> System.arraycopy((float[]) sa.data(), 0, scores, 0, n);
                case INT32 -> {
                    int[] is = (int[]) sa.data();
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
        return new Tokenizer(source, tokens, scores, rawTypes, md);
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
            types[id] = TokenType.CONTROL;
        }
    }

    private boolean eogText(String text) {
        int id = ids.get(text);
        return id >= 0 && eog[id];
    }

    private void setAttr(String text, int attr, boolean value) {
        int id = ids.get(text);
        if (id >= 0) {
            attrs[id] = value ? attrs[id] | attr : attrs[id] & ~attr;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Vocabulary

    public int vocabSize() {
        return texts.length();
    }

    /**
     * Beginning-of-sequence token: {@code tokenizer.ggml.bos_token_id}, else llama.cpp's SPM default
     * 1; -1 when neither is a valid id.
     */
    public int bos() {
        return bos;
    }

    /** End-of-sequence token: {@code tokenizer.ggml.eos_token_id}, else the SPM default 2; -1 when neither is valid. */
    public int eos() {
        return eos;
    }

    /** Unknown-piece token: {@code tokenizer.ggml.unknown_token_id}, else the SPM default 0. */
    public int unk() {
        return unk;
    }

    /** {@code tokenizer.ggml.add_bos_token} (default true for SentencePiece vocabularies). */
    public boolean addBos() {
        return addBos;
    }

    /** {@code tokenizer.ggml.add_eos_token} (default false). */
    public boolean addEos() {
        return addEos;
    }

    /** {@code tokenizer.ggml.add_space_prefix} (default true for SentencePiece vocabularies). */
    public boolean addSpacePrefix() {
        return addSpacePrefix;
    }

    /** The piece text as stored in the vocabulary (with '▁' for spaces, {@code <0xNN>} for bytes). */
    public String tokenText(int id) {
        return texts.get(check(id));
    }

    /**
     * The token's type: the stored type, except where llama.cpp re-types tokens on load (e.g.
     * {@code <end_of_turn>}-like tokens are always control tokens).
     */
    public TokenType type(int id) {
        return types[check(id)];
    }

    /** The token's score (SentencePiece log probability). */
    public float score(int id) {
        return scores[check(id)];
    }

    /** The id of the token whose text is exactly {@code pieceText}. */
    public OptionalInt find(String pieceText) {
        int id = ids.get(pieceText);
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * Whether generating this token ends generation: llama.cpp's end-of-generation set (the EOS,
     * EOT and EOM tokens, FIM pad/repo/separator tokens, and tokens such as {@code <end_of_turn>},
     * {@code <|eot_id|>}, {@code <|im_end|>}, {@code <|end|>}, {@code <|endoftext|>}, {@code <eos>},
     * {@code </s>}).
     */
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && id < eog.length && eog[id];
    }

    /** The special-token candidates in partition order (a copy; for tests). */
    int[] specialTokenOrder() {
        return specials.clone();
    }

    private int check(int id) {
        if (id < 0 || id >= texts.length()) {
            throw new IllegalArgumentException("token id " + id + " is out of range (vocabulary has " + texts.length() + " tokens)");
        }
        return id;
    }

    // ---------------------------------------------------------------------------------------------
    // Decoding

    /**
     * The bytes llama.cpp's {@code token_to_piece} gives for the token: normal tokens with '▁'
     * turned back into spaces, byte tokens {@code <0xNN>} as that one byte, user-defined tokens as
     * their text, control and unknown tokens as nothing unless {@code renderSpecial} (then their
     * text), unused and undefined tokens as nothing.
     */
    public byte[] pieceBytes(int id, boolean renderSpecial) {
        int attr = attrs[check(id)];
        if (!renderSpecial && (attr & (ATTR_UNKNOWN | ATTR_CONTROL)) != 0) {
            return EMPTY;
        }
        if ((attr & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED)) != 0) {
            return texts.bytes(id);
        }
        if ((attr & ATTR_NORMAL) != 0) {
            return unescapeSpaces(texts.bytes(id));
        }
        if ((attr & ATTR_BYTE) != 0) {
            return new byte[] {byteValue(texts.get(id))};
        }
        return EMPTY;
    }

    /** UTF-8 of '▁' (U+2581), SentencePiece's escaped space. */
    private static final byte[] SPACE_MARK_UTF8 = {(byte) 0xE2, (byte) 0x96, (byte) 0x81};

    /** {@code utf8} with every '▁' turned into a space (the bytes of {@code replace('▁', ' ')}). */
    private static byte[] unescapeSpaces(byte[] utf8) {
        int marks = 0;
        for (int i = 0; i < utf8.length; i++) {
            if (isSpaceMark(utf8, i)) {
                marks++;
            }
        }
        if (marks == 0) {
            return utf8;
        }
        byte[] out = new byte[utf8.length - 2 * marks];
        for (int i = 0, o = 0; i < utf8.length; i++) {
            if (isSpaceMark(utf8, i)) {
                out[o++] = ' ';
                i += 2;
            } else {
                out[o++] = utf8[i];
            }
        }
        return out;
    }

    /** Whether '▁' starts at {@code utf8[i]} (0xE2 never continues a character, so matches never overlap). */
    private static boolean isSpaceMark(byte[] utf8, int i) {
        return i + 2 < utf8.length && utf8[i] == SPACE_MARK_UTF8[0] && utf8[i + 1] == SPACE_MARK_UTF8[1] && utf8[i + 2] == SPACE_MARK_UTF8[2];
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

    /** The byte of a byte token: llama.cpp's {@code strtol(text.substr(3, 2), 16)}. */
    private static byte byteValue(String text) {
        int v = 0;
        for (int i = 3; i < Math.min(5, text.length()); i++) {
            int d = Character.digit(text.charAt(i), 16);
            if (d < 0) {
                break;
            }
            v = v * 16 + d;
        }
        return (byte) v;
    }

    /**
     * The text of a token sequence: the concatenated {@link #pieceBytes} decoded as UTF-8, each
     * malformed sequence (maximal subpart) replaced by U+FFFD. Unlike llama.cpp's
     * {@code common_detokenize}, the leading space that the add-space-prefix rule puts on the first
     * piece is kept.
     */
    public String decode(int[] tokens, boolean renderSpecial) {
        byte[] buf = new byte[Math.max(16, tokens.length * 4)];
        int len = 0;
        for (int id : tokens) {
            byte[] p = pieceBytes(id, renderSpecial);
            if (len + p.length > buf.length) {
                buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + p.length));
            }
            System.arraycopy(p, 0, buf, len, p.length);
            len += p.length;
        }
        return Utf8.decode(buf, 0, len);
    }

    /** A decoder for streaming generated tokens to text without splitting characters. */
    public StreamDecoder streamDecoder(boolean renderSpecial) {
        return new StreamDecoder(this, renderSpecial);
    }

    // ---------------------------------------------------------------------------------------------
    // Encoding

    /**
     * Tokenizes {@code text} as llama.cpp's {@code llama_tokenize(vocab, text, add_special, parse_special)}.
     *
     * @param addSpecial   prepend BOS if {@link #addBos()} (and append EOS if {@link #addEos()})
     * @param parseSpecial recognise control tokens (e.g. {@code <start_of_turn>}) written in the
     *                     text; user-defined tokens are always recognised
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        String s = replaceLoneSurrogates(text);
        IntList out = new IntList(Math.max(16, s.length() / 2));
        if (addSpecial && addBos) {
            out.add(bos);
        }
        Fragments fragments = partition(s, parseSpecial);
        boolean prevSpecial = true; // the first text fragment gets the space prefix too
        StringBuilder sb = new StringBuilder();
        for (int f = 0; f < fragments.size; f++) {
            int token = fragments.token[f];
            if (token >= 0) {
                out.add(token);
                prevSpecial = true;
                continue;
            }
            sb.setLength(0);
            if (addSpacePrefix && prevSpecial) {
                sb.append(' ');
            }
            sb.append(s, fragments.start[f], fragments.end[f]);
            for (int i = 0; i < sb.length(); i++) {
                if (sb.charAt(i) == ' ') {
                    sb.setCharAt(i, SPACE_MARK);
                }
            }
            new SpmSession(sb.toString()).tokenize(out);
            prevSpecial = false;
        }
        if (addSpecial && addEos) {
            out.add(eos);
        }
        return out.toArray();
    }

    /**
     * llama.cpp sees bytes; a Java string can hold an unpaired surrogate, which has no UTF-8 form.
     * Such a char is treated as U+FFFD (what a UTF-8 decoder makes of the bytes it came from).
     */
    private static String replaceLoneSurrogates(String s) {
        char[] chars = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                if (chars == null) {
                    chars = s.toCharArray();
                }
                chars[i] = Utf8.REPLACEMENT;
            }
        }
        return chars == null ? s : new String(chars);
    }

    /** Text fragments ({@code token == -1}, chars {@code [start, end)}) and special tokens, in order. */
    private static final class Fragments {
        int size;
        int[] token = new int[8];
        int[] start = new int[8];
        int[] end = new int[8];

        void add(int t, int s, int e) {
            if (size == token.length) {
                token = Arrays.copyOf(token, size * 2);
                start = Arrays.copyOf(start, size * 2);
                end = Arrays.copyOf(end, size * 2);
            }
            token[size] = t;
            start[size] = s;
            end[size] = e;
            size++;
        }
    }

    /**
     * llama.cpp's {@code tokenizer_st_partition}: for each special token in cache order, split every
     * remaining text fragment at each (non-overlapping, leftmost-first) occurrence of its text.
     * Control and unknown tokens only take part when {@code parseSpecial}. Tokens whose text does
     * not occur anywhere in the input are skipped up front (a trie scan), which changes nothing
     * but the cost.
     */
    private Fragments partition(String text, boolean parseSpecial) {
        Fragments frags = new Fragments();
        if (text.isEmpty()) {
            return frags;
        }
        frags.add(-1, 0, text.length());
        if (specials.length == 0) {
            return frags;
        }
        boolean[] occurs = new boolean[specials.length];
        if (specialTrie.findOccurring(text, occurs) == 0) {
            return frags;
        }
        for (int c = 0; c < specials.length; c++) {
            if (!occurs[c]) {
                continue;
            }
            int id = specials[c];
            int attr = attrs[id];
            if (!parseSpecial && (attr & (ATTR_CONTROL | ATTR_UNKNOWN)) != 0) {
                continue;
            }
            String t = specialTexts[c];
            Fragments next = new Fragments();
            // Fragments come in text order, so the next occurrence found for an earlier fragment is
            // still the next one for a later fragment if it lies beyond that fragment's start: each
            // token's text is then scanned once, however many fragments there are.
            int nextMatch = -1;
            for (int f = 0; f < frags.size; f++) {
                if (frags.token[f] >= 0) {
                    next.add(frags.token[f], 0, 0);
                    continue;
                }
                int base = frags.start[f];
                int end = frags.end[f];
                while (true) {
                    if (nextMatch < base) {
                        nextMatch = text.indexOf(t, base);
                        if (nextMatch < 0) {
                            nextMatch = Integer.MAX_VALUE;
                        }
                    }
                    int m = nextMatch;
                    if (m == Integer.MAX_VALUE || m + t.length() > end) {
                        if (end > base) {
                            next.add(-1, base, end);
                        }
                        break;
                    }
                    int leftEnd = m;
                    if ((attr & ATTR_LSTRIP) != 0) {
                        while (leftEnd > base && isSpace(text.charAt(leftEnd - 1))) {
                            leftEnd--;
                        }
                    }
                    if (leftEnd > base) {
                        next.add(-1, base, leftEnd);
                    }
                    next.add(id, 0, 0);
                    int right = m + t.length();
                    if (right >= end) {
                        break;
                    }
                    if ((attr & ATTR_RSTRIP) != 0) {
                        while (right < end && isSpace(text.charAt(right))) {
                            right++;
                        }
                    }
                    base = right;
                }
            }
            frags = next;
        }
        return frags;
    }

    /** C {@code isspace} in the "C" locale. */
    private static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    private int byteToken(int b) {
        int id = byteTokens[b];
        if (id >= 0) {
            return id;
        }
        if (unk >= 0) {
            return unk;
        }
        throw new IllegalArgumentException(String.format("cannot encode byte 0x%02X: the vocabulary has no <0x%02X> token and no unknown token", b, b));
    }

    /**
     * One run of llama.cpp's {@code llm_tokenizer_spm_session::tokenize} over an escaped text
     * fragment. Symbols are the text's code points (llama.cpp splits by UTF-8 lead byte, the same
     * thing for valid UTF-8); the best-scoring adjacent pair that forms a vocabulary token is merged
     * until none is left (ties: leftmost first); each final symbol is its token, or its UTF-8 bytes
     * as byte tokens.
     *
     * <p>llama.cpp also records the pair each merged text came from ({@code rev_merge}) to re-split
     * symbols that are not tokens, but a merged symbol is by construction a token and an unmerged
     * one is a single character, so that path is never taken and is left out here.
     */
    private final class SpmSession {
        private final String text;
        private final int[] start;
        private final int[] len; // in chars; 0 once merged into the left neighbour
        private final int[] prev;
        private final int[] next;
        private final int[] merged; // token id of a merged symbol, -1 for a single character
        private final PriorityQueue<Bigram> queue = new PriorityQueue<>(Bigram::compare);

        SpmSession(String text) {
            this.text = text;
            int n = text.length();
            start = new int[n];
            len = new int[n];
            prev = new int[n];
            next = new int[n];
            merged = new int[n];
            int count = 0;
            for (int i = 0; i < n; ) {
                int cl = Character.isHighSurrogate(text.charAt(i)) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1)) ? 2 : 1;
                start[count] = i;
                len[count] = cl;
                prev[count] = count - 1;
                i += cl;
                next[count] = i == n ? -1 : count + 1;
                merged[count] = -1;
                count++;
            }
            for (int i = 1; i < count; i++) {
                tryAddBigram(i - 1, i);
            }
        }

        void tokenize(IntList out) {
            if (text.isEmpty()) {
                return;
            }
            Bigram b;
            while ((b = queue.poll()) != null) {
                int l = b.left;
                int r = b.right;
                if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != b.size) {
                    continue; // stale: one side was merged since
                }
                len[l] += len[r];
                len[r] = 0;
                merged[l] = b.token;
                next[l] = next[r];
                if (next[r] >= 0) {
                    prev[next[r]] = l;
                }
                tryAddBigram(prev[l], l);
                tryAddBigram(l, next[l]);
            }
            for (int i = 0; i != -1; i = next[i]) {
                if (merged[i] >= 0) {
                    out.add(merged[i]);
                    continue;
                }
                String sym = text.substring(start[i], start[i] + len[i]);
                int id = ids.get(sym);
                if (id >= 0) {
                    out.add(id);
                } else {
                    for (byte by : sym.getBytes(StandardCharsets.UTF_8)) {
                        out.add(byteToken(by & 0xFF));
                    }
                }
            }
        }

        private void tryAddBigram(int left, int right) {
            if (left == -1 || right == -1) {
                return;
            }
            int size = len[left] + len[right];
            if (size > maxTokenChars) {
                return;
            }
            int id = ids.get(text.substring(start[left], start[left] + size));
            if (id < 0) {
                return;
            }
            queue.add(new Bigram(left, right, scores[id], size, id));
        }
    }

    /** A mergeable pair; higher score first, then the leftmost (llama.cpp's llm_bigram_spm::comparator). */
    private record Bigram(int left, int right, float score, int size, int token) {
        static int compare(Bigram a, Bigram b) {
            if (a.score > b.score) {
                return -1;
            }
            if (a.score < b.score) {
                return 1;
            }
            return Integer.compare(a.left, b.left);
        }
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
