package dev.edgellm.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Pieces, decoding and streaming decoding. */
class TokenizerDecodeTest {

    static Stream<TokenizerLlamaCppVectorsTest.Vector> gemmaVectors() {
        return TokenizerLlamaCppVectorsTest.gemmaVectors();
    }

    static Stream<TokenizerLlamaCppVectorsTest.Vector> llamaSpmVectors() {
        return TokenizerLlamaCppVectorsTest.llamaSpmVectors();
    }

    @ParameterizedTest(name = "gemma {0}")
    @MethodSource("gemmaVectors")
    void gemmaRoundTrips(TokenizerLlamaCppVectorsTest.Vector v) {
        Tokenizer tok = TestTokenizers.gemma();
        int[] ids = tok.encode(v.input(), false, false);
        assertEquals(v.input(), tok.decode(ids, false));
        assertEquals(v.input(), streamed(tok, ids, false));
    }

    @ParameterizedTest(name = "llama-spm {0}")
    @MethodSource("llamaSpmVectors")
    void llamaSpmRoundTripsWithTheSpacePrefix(TokenizerLlamaCppVectorsTest.Vector v) {
        Tokenizer tok = TestTokenizers.llamaSpm();
        assertTrue(tok.addSpacePrefix());
        int[] ids = tok.encode(v.input(), false, false);
        // add_space_prefix puts a space before the text; decode keeps it (llama.cpp's detokenizer strips it).
        String expected = v.input().isEmpty() ? "" : " " + v.input();
        assertEquals(expected, tok.decode(ids, false));
        assertEquals(expected, streamed(tok, ids, false));
    }

    @Test
    void bosAndControlTokensAreHiddenUnlessRenderSpecial() {
        Tokenizer tok = TestTokenizers.gemma();
        String chat = "<start_of_turn>user\nHi<end_of_turn>\n";
        int[] ids = tok.encode(chat, true, true);
        assertEquals(tok.bos(), ids[0]);
        assertEquals("user\nHi\n", tok.decode(ids, false));
        assertEquals("<bos>" + chat, tok.decode(ids, true));
        int sot = tok.find("<start_of_turn>").orElseThrow();
        assertEquals(TokenType.CONTROL, tok.type(sot));
        assertEquals(0, tok.pieceBytes(sot, false).length);
        assertEquals("<start_of_turn>", new String(tok.pieceBytes(sot, true), StandardCharsets.UTF_8));
        assertEquals("user\nHi\n", streamed(tok, ids, false));
        assertEquals("<bos>" + chat, streamed(tok, ids, true));
    }

    @Test
    void userDefinedTokensAreAlwaysRendered() {
        Tokenizer tok = TestTokenizers.gemma();
        int table = tok.find("<table>").orElseThrow();
        assertEquals(TokenType.USER_DEFINED, tok.type(table));
        assertEquals("<table>", new String(tok.pieceBytes(table, false), StandardCharsets.UTF_8));
        // user-defined tokens are split out even without parseSpecial
        assertArrayEquals(new int[] {table}, tok.encode("<table>", false, false));
    }

    @Test
    void unknownTokenRendersLikeAControlToken() {
        // llama.cpp's token_to_piece treats UNKNOWN like CONTROL: nothing, or its text when rendering special tokens.
        Tokenizer tok = TestTokenizers.gemma();
        assertEquals(TokenType.UNKNOWN, tok.type(tok.unk()));
        assertEquals(0, tok.pieceBytes(tok.unk(), false).length);
        assertEquals("<unk>", new String(tok.pieceBytes(tok.unk(), true), StandardCharsets.UTF_8));
    }

    @Test
    void normalPiecesTurnTheSpaceMarkIntoSpaces() {
        Tokenizer tok = TestTokenizers.llamaSpm();
        int id = tok.find("\u2581Hello").orElseThrow();
        assertEquals(TokenType.NORMAL, tok.type(id));
        assertEquals(" Hello", new String(tok.pieceBytes(id, false), StandardCharsets.UTF_8));
        assertEquals("\u2581Hello", tok.tokenText(id));
    }

    @Test
    void byteTokensAreTheirByte() {
        for (Tokenizer tok : List.of(TestTokenizers.gemma(), TestTokenizers.llamaSpm(), TestTokenizers.stories())) {
            for (int b = 0; b < 256; b++) {
                String text = String.format("<0x%02X>", b);
                int id = tok.find(text).orElseThrow(() -> new AssertionError("no " + text));
                assertEquals(TokenType.BYTE, tok.type(id));
                assertArrayEquals(new byte[] {(byte) b}, tok.pieceBytes(id, false), text);
                assertArrayEquals(new byte[] {(byte) b}, tok.pieceBytes(id, true), text);
            }
        }
    }

    @Test
    void streamDecoderHoldsCharactersSplitOverByteTokens() {
        Tokenizer tok = TestTokenizers.llamaSpm();
        // These characters are not in the llama vocabulary: they are encoded as 3 or 4 byte tokens each.
        String text = "\u6211\u60f3 \ud83d\ude80 \ud83e\udd99 \u0e01\u0e32";
        int[] ids = tok.encode(text, false, false);
        assertTrue(countBytes(tok, ids) >= 8, "expected byte fallback tokens in " + java.util.Arrays.toString(ids));
        StreamDecoder sd = tok.streamDecoder(false);
        StringBuilder all = new StringBuilder();
        int held = 0;
        for (int id : ids) {
            String out = sd.accept(id);
            assertFalse(out.contains("\uFFFD"), "partial character emitted as U+FFFD after token " + id);
            for (int i = 0; i < out.length(); i++) {
                char c = out.charAt(i);
                if (Character.isHighSurrogate(c)) {
                    assertTrue(i + 1 < out.length() && Character.isLowSurrogate(out.charAt(i + 1)), "half a surrogate pair emitted");
                    i++;
                } else {
                    assertFalse(Character.isSurrogate(c), "half a surrogate pair emitted");
                }
            }
            if (out.isEmpty() && tok.type(id) == TokenType.BYTE) {
                held++;
            }
            all.append(out);
        }
        all.append(sd.flush());
        assertTrue(held > 0, "some byte tokens must have been held back");
        assertEquals(" " + text, all.toString());
        assertEquals(tok.decode(ids, false), all.toString());
    }

    @Test
    void streamDecoderByteByByte() {
        Tokenizer tok = TestTokenizers.gemma();
        StreamDecoder sd = tok.streamDecoder(false);
        byte[] rocket = "\ud83d\ude80".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < rocket.length - 1; i++) {
            assertEquals("", sd.accept(byteToken(tok, rocket[i] & 0xFF)));
            assertEquals(i + 1, sd.pendingBytes());
        }
        assertEquals("\ud83d\ude80", sd.accept(byteToken(tok, rocket[rocket.length - 1] & 0xFF)));
        assertEquals(0, sd.pendingBytes());
        assertEquals("", sd.flush());
    }

    @Test
    void malformedBytesBecomeReplacementCharacters() {
        Tokenizer tok = TestTokenizers.gemma();
        int a = tok.find("a").orElseThrow();
        // a lone continuation byte, an invalid lead byte, and a truncated sequence at the end
        int[] ids = {byteToken(tok, 0x80), a, byteToken(tok, 0xFF), a, byteToken(tok, 0xE6), byteToken(tok, 0x88)};
        assertEquals("\uFFFDa\uFFFDa\uFFFD", tok.decode(ids, false));
        StreamDecoder sd = tok.streamDecoder(false);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(sd.accept(id));
        }
        assertEquals("\uFFFDa\uFFFDa", sb.toString());
        assertEquals(2, sd.pendingBytes());
        assertEquals("\uFFFD", sd.flush());
        // a truncated sequence followed by a new character: one U+FFFD for the maximal subpart, then the character
        assertEquals("\uFFFDa", tok.decode(new int[] {byteToken(tok, 0xE6), byteToken(tok, 0x88), a}, false));
    }

    /** Random byte-token sequences: streaming must give exactly what decoding all at once gives. */
    @Test
    void streamingEqualsWholeDecodingOnRandomBytes() {
        Tokenizer tok = TestTokenizers.llamaSpm();
        int[] interesting = {0x41, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE6, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
        Random r = new Random(2024);
        for (int t = 0; t < 20_000; t++) {
            int n = r.nextInt(9);
            int[] ids = new int[n];
            byte[] bytes = new byte[n];
            for (int i = 0; i < n; i++) {
                int b = r.nextBoolean() ? interesting[r.nextInt(interesting.length)] : r.nextInt(256);
                bytes[i] = (byte) b;
                ids[i] = byteToken(tok, b);
            }
            String whole = tok.decode(ids, false);
            assertEquals(whole, streamed(tok, ids, false), () -> HexFormat.ofDelimiter(" ").formatHex(bytes));
            if (!hasSurrogateEncoding(bytes)) {
                // the JDK decoder agrees except on CESU-style surrogate encodings (ED A0..BF), which it replaces as a unit
                assertEquals(new String(bytes, StandardCharsets.UTF_8), whole, () -> HexFormat.ofDelimiter(" ").formatHex(bytes));
            }
        }
    }

    @Test
    void decodeOfNothingIsEmpty() {
        Tokenizer tok = TestTokenizers.gemma();
        assertEquals("", tok.decode(new int[0], true));
        assertEquals("", tok.streamDecoder(true).flush());
        assertEquals(0, tok.encode("", false, true).length);
        assertArrayEquals(new int[] {tok.bos()}, tok.encode("", true, true));
    }

    private static boolean hasSurrogateEncoding(byte[] b) {
        for (int i = 0; i + 1 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xED && (b[i + 1] & 0xFF) >= 0xA0 && (b[i + 1] & 0xFF) <= 0xBF) {
                return true;
            }
        }
        return false;
    }

    private static int byteToken(Tokenizer tok, int b) {
        return tok.find(String.format("<0x%02X>", b)).orElseThrow();
    }

    private static int countBytes(Tokenizer tok, int[] ids) {
        int n = 0;
        for (int id : ids) {
            if (tok.type(id) == TokenType.BYTE) {
                n++;
            }
        }
        return n;
    }

    static String streamed(Tokenizer tok, int[] ids, boolean renderSpecial) {
        StreamDecoder sd = tok.streamDecoder(renderSpecial);
        List<String> parts = new ArrayList<>();
        for (int id : ids) {
            parts.add(sd.accept(id));
        }
        parts.add(sd.flush());
        return String.join("", parts);
    }
}
