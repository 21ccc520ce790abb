package dev.edgellm.service.summary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.engine.ChatTemplate;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.testing.SharedFiles;
import dev.edgellm.core.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SummaryPromptTest {
    private static Tokenizer tok;

    @BeforeAll
    static void load() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-tiny-q4_0.gguf"))) {
            tok = Tokenizer.fromGguf(f.metadata());
        }
    }

    private static Map<String, Object> reading(int i, double temp) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ts", "10:" + String.format("%02d", i));
        m.put("sensor", 7);
        m.put("temp_c", temp);
        return m;
    }

    @Test
    void recordsBecomeACompactTableInsideTheChatTemplate() {
        Map<String, Object> odd = new LinkedHashMap<>();
        odd.put("ts", "10:03");
        odd.put("event", "door open");
        odd.put("meta", Map.of("by", "badge 12"));
        List<Map<String, Object>> recs = List.of(reading(0, 21.5), reading(1, 21.70), reading(2, 35.2), odd);
        SummaryPrompt.Built b = SummaryPrompt.build(tok, ChatTemplate.GEMMA, null, null, recs, 1000);
        assertEquals("<start_of_turn>user\n" + SummaryPrompt.DEFAULT_INSTRUCTIONS + "\n\nRecords (4):\n"
                + "ts | sensor | temp_c | event | meta\n"
                + "10:00 | 7 | 21.5 |  | \n"
                + "10:01 | 7 | 21.7 |  | \n"
                + "10:02 | 7 | 35.2 |  | \n"
                + "10:03 |  |  | door open | {by=badge 12}<end_of_turn>\n<start_of_turn>model\n", b.text());
        assertFalse(b.trimmed());
        assertEquals("", b.trimming());
        assertEquals(2, b.tokens()[0]); // BOS
        assertEquals(105, b.tokens()[1]); // <start_of_turn> parsed as a special token
    }

    @Test
    void trimsToTheNewestRecordsAndSaysSo() {
        List<Map<String, Object>> recs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            recs.add(reading(i % 60, 20 + i * 0.1));
        }
        SummaryPrompt.Built b = SummaryPrompt.build(tok, ChatTemplate.GEMMA, "Summarize.", "", recs, 300);
        assertTrue(b.tokens().length <= 300, "prompt has " + b.tokens().length + " tokens");
        assertTrue(b.trimmed());
        assertTrue(b.recordsUsed() > 5 && b.recordsUsed() < 200, "kept " + b.recordsUsed());
        assertTrue(b.text().contains("39.9"), "the newest record is kept"); // 20 + 199*0.1
        assertTrue(b.trimming().startsWith("kept the newest " + b.recordsUsed() + " of 200 records"), b.trimming());
        // one more record would not fit
        SummaryPrompt.Built bigger = SummaryPrompt.build(tok, ChatTemplate.GEMMA, "Summarize.", "", recs.subList(200 - b.recordsUsed() - 1, 200), 100_000);
        assertTrue(bigger.tokens().length > 300);
    }

    @Test
    void trimsLongTextFromTheEnd() {
        String text = "The pump ran normally. ".repeat(300);
        SummaryPrompt.Built b = SummaryPrompt.build(tok, ChatTemplate.GEMMA, null, text, null, 200);
        assertTrue(b.tokens().length <= 200);
        assertTrue(b.textCharsUsed() > 0 && b.textCharsUsed() < text.length());
        assertTrue(b.text().contains("[...]"));
        assertTrue(b.trimming().contains("characters of text"), b.trimming());
    }

    @Test
    void badInputIsRefusedClearly() {
        assertThrows(IllegalArgumentException.class, () -> SummaryPrompt.build(tok, ChatTemplate.GEMMA, null, " ", List.of(), 100));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SummaryPrompt.build(tok, ChatTemplate.GEMMA, "x".repeat(5000), "some text", null, 50));
        assertTrue(e.getMessage().contains("50"), e.getMessage());
    }

    @Test
    void numbersRenderCanonically() {
        StringBuilder sb = new StringBuilder();
        SummaryPrompt.value(sb, List.of(1.50, 2.0, -0.0, 1e-7, 12L, true, "a|b"));
        assertEquals("[1.5, 2, 0, 0.0000001, 12, true, a\\|b]", sb.toString());
    }
}
