package dev.edgellm.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.gguf.GgufMetadata;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Vocabulary loading rules, checked on the shared models and on small synthetic vocabularies. */
class TokenizerMetadataTest {
    private static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, BYTE = 6;

    @TempDir
    Path dir;

    // ---- the shared models

    @Test
    void gemmaSpecialTokensAndFlags() {
        Tokenizer tok = TestTokenizers.gemma();
        assertEquals(262_144, tok.vocabSize());
        assertEquals(2, tok.bos());
        assertEquals(1, tok.eos());
        assertEquals(3, tok.unk());
        assertTrue(tok.addBos());
        assertFalse(tok.addEos());
        assertFalse(tok.addSpacePrefix());
        assertEquals("<bos>", tok.tokenText(tok.bos()));
        assertEquals(OptionalInt.of(106), tok.find("<end_of_turn>"));
        assertEquals(OptionalInt.empty(), tok.find("<no such piece>"));
        assertTrue(tok.isEndOfGeneration(1), "<eos>");
        assertTrue(tok.isEndOfGeneration(106), "<end_of_turn>");
        assertFalse(tok.isEndOfGeneration(2), "<bos>");
        assertFalse(tok.isEndOfGeneration(105), "<start_of_turn>");
        assertFalse(tok.isEndOfGeneration(-1));
        assertFalse(tok.isEndOfGeneration(tok.vocabSize()));
        assertEquals(TokenType.CONTROL, tok.type(105));
        assertEquals(TokenType.UNKNOWN, tok.type(3));
        assertEquals(TokenType.USER_DEFINED, tok.type(tok.find("<unused0>").orElseThrow()));
        assertEquals(TokenType.NORMAL, tok.type(tok.find("Hello").orElseThrow()));
        assertThrows(IllegalArgumentException.class, () -> tok.tokenText(tok.vocabSize()));
        assertThrows(IllegalArgumentException.class, () -> tok.pieceBytes(-1, true));
    }

    @Test
    void llamaVocabulariesUseSpmDefaults() {
        for (Tokenizer tok : new Tokenizer[] {TestTokenizers.llamaSpm(), TestTokenizers.stories()}) {
            assertEquals(1, tok.bos());
            assertEquals(2, tok.eos());
            assertEquals(0, tok.unk());
            assertTrue(tok.addBos());
            assertTrue(tok.addSpacePrefix(), "no tokenizer.ggml.add_space_prefix: SPM default");
            assertTrue(tok.isEndOfGeneration(2));
            assertFalse(tok.isEndOfGeneration(1));
        }
        // stories260K stores seperator/padding ids as 0xFFFFFFFF: out of range, ignored as llama.cpp does
        assertEquals(512, TestTokenizers.stories().vocabSize());
    }

    @Test
    void tokenTypeOf() {
        for (TokenType t : TokenType.values()) {
            assertEquals(t, TokenType.of(t.id()));
        }
        assertEquals(TokenType.UNDEFINED, TokenType.of(7));
        assertEquals(TokenType.UNDEFINED, TokenType.of(-1));
    }

    // ---- malformed metadata

    @Test
    void missingTokensIsAnErrorNamingTheKey() {
        GgufMetadata md = vocab().remove("tokenizer.ggml.tokens").metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("'tokenizer.ggml.tokens'"), e.getMessage());
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void missingModelIsAnErrorNamingTheKey() {
        GgufMetadata md = vocab().remove("tokenizer.ggml.model").metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("'tokenizer.ggml.model'"), e.getMessage());
    }

    @Test
    void otherTokenizerModelsAreRejected() {
        GgufMetadata md = vocab().string("tokenizer.ggml.model", "gpt2").metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("tokenizer model 'gpt2' is not supported"), e.getMessage());
    }

    @Test
    void scoresOfAnotherLengthAreRejected() {
        GgufMetadata md = vocab().floats("tokenizer.ggml.scores", new float[3]).metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("'tokenizer.ggml.scores' has 3 entries"), e.getMessage());
        assertTrue(e.getMessage().contains("'tokenizer.ggml.tokens' has " + TOKENS.length + " tokens"), e.getMessage());
    }

    @Test
    void tokenTypesOfAnotherLengthAreRejected() {
        GgufMetadata md = vocab().ints("tokenizer.ggml.token_type", new int[] {1, 1}).metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("'tokenizer.ggml.token_type' has 2 entries"), e.getMessage());
    }

    @Test
    void tokenTypesMustBeIntegers() {
        GgufMetadata md = vocab().floats("tokenizer.ggml.token_type", new float[TOKENS.length]).metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("'tokenizer.ggml.token_type' is an array of f32"), e.getMessage());
    }

    @Test
    void duplicateTokensAreRejected() {
        String[] tokens = TOKENS.clone();
        tokens[tokens.length - 1] = "ab";
        GgufMetadata md = vocab().strings("tokenizer.ggml.tokens", tokens).metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("duplicate token in vocabulary 'tokenizer.ggml.tokens': 'ab' has ids 8 and 18"), e.getMessage());
    }

    @Test
    void addBosWithoutABosTokenIsRejected() {
        // one token: the SPM default BOS id 1 is out of range, so there is no BOS
        GgufMetadata md = TinyGguf.spm(new String[] {"a"}, new float[1], new int[] {NORMAL}).metadata(dir);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> Tokenizer.fromGguf(md));
        assertTrue(e.getMessage().contains("tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set"), e.getMessage());
        Tokenizer ok = TinyGguf.spm(new String[] {"a"}, new float[1], new int[] {NORMAL}).bool("tokenizer.ggml.add_bos_token", false).tokenizer(dir);
        assertEquals(-1, ok.bos());
        assertEquals(-1, ok.eos());
        assertEquals(0, ok.unk());
    }

    @Test
    void outOfRangeSpecialIdsKeepTheDefault() {
        Tokenizer tok = vocab().u32("tokenizer.ggml.bos_token_id", 4_000_000_000L).u32("tokenizer.ggml.eos_token_id", TOKENS.length).tokenizer(dir);
        assertEquals(1, tok.bos());
        assertEquals(2, tok.eos());
    }

    @Test
    void emptyTokenTextsAreRenamedAsLlamaCppDoes() {
        String[] tokens = TOKENS.clone();
        tokens[7] = "";
        Tokenizer tok = vocab().strings("tokenizer.ggml.tokens", tokens).tokenizer(dir);
        assertEquals("[EMPTY_7]", tok.tokenText(7));
    }

    // ---- behaviour on a synthetic vocabulary

    /** A small SPM vocabulary. */
    private static final String[] TOKENS = {"<unk>", "<s>", "</s>", "<0xC3>", "<0xA9>", "\u2581", "a", "b", "ab", "ba", "\u2581a", "<ctl>",
            "<ud>", "<|im_end|>", "<", ">", "c", "t", "l"};
    private static final int[] TYPES = {UNKNOWN, CONTROL, CONTROL, BYTE, BYTE, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, CONTROL,
            USER_DEFINED, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL, NORMAL};

    private static float[] scores(float ab, float ba) {
        float[] s = new float[TOKENS.length];
        Arrays.fill(s, -10);
        s[8] = ab;
        s[9] = ba;
        s[10] = -1;
        return s;
    }

    private static TinyGguf vocab() {
        return TinyGguf.spm(TOKENS, scores(-1, -1), TYPES);
    }

    private int id(Tokenizer tok, String text) {
        return tok.find(text).orElseThrow();
    }

    @Test
    void scoresAndTypesReadBackAsStored() {
        // f32 scores are shared with the metadata, i32 ones converted, absent ones zero; types are
        // kept as bytes and read back as the enum (the re-typed end-of-turn token as control)
        Tokenizer f32 = vocab().tokenizer(dir);
        float[] expected = scores(-1, -1);
        for (int id = 0; id < TOKENS.length; id++) {
            assertEquals(expected[id], f32.score(id), TOKENS[id]);
        }
        int[] whole = new int[TOKENS.length];
        Arrays.setAll(whole, id -> -id);
        Tokenizer i32 = vocab().ints("tokenizer.ggml.scores", whole).tokenizer(dir);
        Tokenizer none = vocab().remove("tokenizer.ggml.scores").tokenizer(dir);
        for (int id = 0; id < TOKENS.length; id++) {
            assertEquals(-id, i32.score(id), TOKENS[id]);
            assertEquals(0f, none.score(id), TOKENS[id]);
        }
        assertEquals(TokenType.BYTE, f32.type(3));
        assertEquals(TokenType.USER_DEFINED, f32.type(id(f32, "<ud>")));
        assertEquals(TokenType.CONTROL, f32.type(id(f32, "<|im_end|>")), "stored as normal, re-typed as end of turn");
    }

    @Test
    void equalScoresMergeTheLeftmostPairFirst() {
        Tokenizer tok = vocab().bool("tokenizer.ggml.add_space_prefix", false).tokenizer(dir);
        assertArrayEquals(new int[] {id(tok, "ab"), id(tok, "a")}, tok.encode("aba", false, false));
        Tokenizer baFirst = TinyGguf.spm(TOKENS, scores(-1, -0.5f), TYPES).bool("tokenizer.ggml.add_space_prefix", false).tokenizer(dir);
        assertArrayEquals(new int[] {id(tok, "a"), id(tok, "ba")}, baFirst.encode("aba", false, false));
    }

    @Test
    void missingCharactersFallBackToBytesThenUnk() {
        Tokenizer tok = vocab().bool("tokenizer.ggml.add_space_prefix", false).tokenizer(dir);
        // é = C3 A9, both byte tokens exist; ü = C3 BC, no <0xBC>
        assertArrayEquals(new int[] {3, 4}, tok.encode("\u00e9", false, false));
        assertArrayEquals(new int[] {3, 0}, tok.encode("\u00fc", false, false));
        assertEquals("\u00e9", tok.decode(tok.encode("\u00e9", false, false), false));
    }

    @Test
    void userDefinedTokensAreAlwaysSplitOutControlOnlyWithParseSpecial() {
        Tokenizer tok = vocab().bool("tokenizer.ggml.add_space_prefix", false).tokenizer(dir);
        int ud = id(tok, "<ud>");
        int ctl = id(tok, "<ctl>");
        assertArrayEquals(new int[] {id(tok, "a"), ud, id(tok, "b")}, tok.encode("a<ud>b", false, false));
        assertArrayEquals(new int[] {id(tok, "a"), ctl, id(tok, "b")}, tok.encode("a<ctl>b", false, true));
        int[] literal = tok.encode("a<ctl>b", false, false);
        assertFalse(Arrays.stream(literal).anyMatch(i -> i == ctl), Arrays.toString(literal));
        assertEquals("a<ctl>b", tok.decode(literal, false));
    }

    @Test
    void spacePrefixGoesBeforeTheFirstTextAndAfterEverySpecialToken() {
        Tokenizer tok = vocab().tokenizer(dir);
        assertTrue(tok.addSpacePrefix());
        int ud = id(tok, "<ud>");
        int spaceA = id(tok, "\u2581a");
        assertArrayEquals(new int[] {1, spaceA}, tok.encode("a", true, false));
        assertArrayEquals(new int[] {spaceA, ud, spaceA, ud, spaceA}, tok.encode("a<ud>a<ud>a", false, false));
        assertArrayEquals(new int[] {ud, spaceA}, tok.encode("<ud>a", false, false));
    }

    @Test
    void eosIsAppendedWhenTheVocabularySaysSo() {
        Tokenizer tok = vocab().bool("tokenizer.ggml.add_eos_token", true).bool("tokenizer.ggml.add_bos_token", false).tokenizer(dir);
        assertArrayEquals(new int[] {id(tok, "\u2581a"), 2}, tok.encode("a", true, false));
        assertArrayEquals(new int[] {id(tok, "\u2581a")}, tok.encode("a", false, false));
    }

    @Test
    void endOfTurnLookingTokensBecomeControlAndEndGeneration() {
        Tokenizer tok = vocab().tokenizer(dir);
        int imEnd = id(tok, "<|im_end|>");
        assertEquals(TokenType.CONTROL, tok.type(imEnd), "stored as NORMAL, re-typed as llama.cpp does");
        assertTrue(tok.isEndOfGeneration(imEnd));
        assertTrue(tok.isEndOfGeneration(2));
        assertEquals(0, tok.pieceBytes(imEnd, false).length);
        Tokenizer withEot = vocab().u32("tokenizer.ggml.eot_token_id", 12).tokenizer(dir);
        assertTrue(withEot.isEndOfGeneration(12), "tokenizer.ggml.eot_token_id");
    }

    @Test
    void phi3SpecialTokensSwallowFollowingWhitespace() {
        Tokenizer phi = vocab().string("general.name", "Phi-3-mini").tokenizer(dir);
        assertArrayEquals(new int[] {id(phi, "<ctl>"), id(phi, "\u2581a")}, phi.encode("<ctl> \n a", false, true));
        Tokenizer other = vocab().tokenizer(dir);
        int[] ids = other.encode("<ctl> \n a", false, true);
        assertTrue(ids.length > 2, Arrays.toString(ids));
    }
}
