package dev.edgellm.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.testing.SharedFiles;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CalibrationTest {
    /** A provider that is never usable, to see it reported and skipped. */
    static final BackendProvider BROKEN = new BackendProvider() {
        public String id() {
            return "broken";
        }

        public int priority() {
            return 1000;
        }

        public BackendProbe probe() {
            return new BackendProbe("broken", false, "no device", Map.of());
        }

        public Backend create(BackendOptions o) {
            throw new AssertionError("must not be created");
        }
    };

    @Test
    void measuresUsableBackendsAndPicksTheFastest() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-tiny-q4_0.gguf"))) {
            List<Backends.Candidate> candidates = new ArrayList<>(Backends.probeAll());
            candidates.add(new Backends.Candidate(BROKEN, BROKEN.probe()));
            List<String> log = new ArrayList<>();
            Calibration.Outcome o = Calibration.run(f, candidates, new BackendOptions(1), 20_000_000L, null, log::add);
            assertEquals(candidates.size(), o.results().size());
            Calibration.Result broken = o.results().stream().filter(r -> r.backend().equals("broken")).findFirst().orElseThrow();
            assertFalse(broken.usable());
            assertEquals("no device", broken.note());
            assertTrue(o.results().stream().anyMatch(r -> r.backend().equals("scalar") && r.nanosPerOp() > 0));
            assertTrue(o.reason().startsWith("fastest measured"), o.reason());
            assertEquals(candidates.size(), log.size());
        }
    }

    @Test
    void forcedBackendWinsAndUnknownOrUnusableIsAnError() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.model("stories260K.gguf"))) {
            List<Backends.Candidate> candidates = new ArrayList<>(Backends.probeAll());
            candidates.add(new Backends.Candidate(BROKEN, BROKEN.probe()));
            Calibration.Outcome o = Calibration.run(f, candidates, new BackendOptions(1), 1_000_000L, "scalar", s -> { });
            assertEquals("scalar", o.chosen());
            assertEquals("forced by configuration", o.reason());
            assertThrows(IllegalArgumentException.class, () -> Calibration.run(f, candidates, new BackendOptions(1), 1_000_000L, "nope", s -> { }));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Calibration.run(f, candidates, new BackendOptions(1), 1_000_000L, "broken", s -> { }));
            assertTrue(e.getMessage().contains("no device"), e.getMessage());
        }
    }
}
