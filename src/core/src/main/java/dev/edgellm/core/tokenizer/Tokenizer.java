package dev.edgellm.core.tokenizer;

import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufMetadata;
import java.util.OptionalInt;

/**
 * The SentencePiece ("llama", SPM) tokenizer of a GGUF vocabulary, reproducing llama.cpp's
 * {@code llm_tokenizer_spm} together with its vocabulary loading rules, special-token partitioning
 * ({@code tokenizer_st_partition}) and {@code token_to_piece}. Token ids, end-of-generation tokens
 * and pieces are meant to be identical to what llama.cpp (src/llama-vocab.cpp) produces for the
 * same file.
 *
 * <p>The work is split by job: {@link Vocabulary} holds the vocabulary and llama.cpp's rules for
 * loading it, {@link SpmEncoder} turns text into ids, {@link PieceDecoder} ids into bytes and text.
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
    private final Vocabulary v;
    private final SpmEncoder encoder;
    private final PieceDecoder decoder;

    private Tokenizer(Vocabulary v) {
        this.v = v;
        this.encoder = new SpmEncoder(v);
        this.decoder = new PieceDecoder(v);
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
        return new Tokenizer(Vocabulary.fromGguf(md));
    }

    public int vocabSize() {
        return v.size();
    }

    /**
     * Beginning-of-sequence token: {@code tokenizer.ggml.bos_token_id}, else llama.cpp's SPM default
     * 1; -1 when neither is a valid id.
     */
    public int bos() {
        return v.bos;
    }

    /** End-of-sequence token: {@code tokenizer.ggml.eos_token_id}, else the SPM default 2; -1 when neither is valid. */
    public int eos() {
        return v.eos;
    }

    /** Unknown-piece token: {@code tokenizer.ggml.unknown_token_id}, else the SPM default 0. */
    public int unk() {
        return v.unk;
    }

    /** {@code tokenizer.ggml.add_bos_token} (default true for SentencePiece vocabularies). */
    public boolean addBos() {
        return v.addBos;
    }

    /** {@code tokenizer.ggml.add_eos_token} (default false). */
    public boolean addEos() {
        return v.addEos;
    }

    /** {@code tokenizer.ggml.add_space_prefix} (default true for SentencePiece vocabularies). */
    public boolean addSpacePrefix() {
        return v.addSpacePrefix;
    }

    /** The piece text as stored in the vocabulary (with '▁' for spaces, {@code <0xNN>} for bytes). */
    public String tokenText(int id) {
        return v.texts.get(v.check(id));
    }

    /**
     * The token's type: the stored type, except where llama.cpp re-types tokens on load (e.g.
     * {@code <end_of_turn>}-like tokens are always control tokens).
     */
    public TokenType type(int id) {
        return TokenType.of(v.types[v.check(id)]);
    }

    /** The token's score (SentencePiece log probability). */
    public float score(int id) {
        return v.scores[v.check(id)];
    }

    /** The id of the token whose text is exactly {@code pieceText}. */
    public OptionalInt find(String pieceText) {
        int id = v.ids.get(pieceText);
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * Whether generating this token ends generation: llama.cpp's end-of-generation set (the EOS,
     * EOT and EOM tokens, FIM pad/repo/separator tokens, and tokens such as {@code <end_of_turn>},
     * {@code <|eot_id|>}, {@code <|im_end|>}, {@code <|end|>}, {@code <|endoftext|>}, {@code <eos>},
     * {@code </s>}).
     */
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && id < v.eog.length && v.eog[id];
    }

    /** The special-token candidates in partition order (a copy; for tests). */
    int[] specialTokenOrder() {
        return v.specials.clone();
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
        return decoder.pieceBytes(id, renderSpecial);
    }

    /**
     * The text of a token sequence: the concatenated {@link #pieceBytes} decoded as UTF-8, each
     * malformed sequence (maximal subpart) replaced by U+FFFD. Unlike llama.cpp's
     * {@code common_detokenize}, the leading space that the add-space-prefix rule puts on the first
     * piece is kept.
     */
    public String decode(int[] tokens, boolean renderSpecial) {
        return decoder.decode(tokens, renderSpecial);
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
        return encoder.encode(text, addSpecial, parseSpecial);
    }
}
