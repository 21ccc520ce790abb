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

    /** The scalar backend, but refusing Q6_K tensors the way the OpenCL backend refuses K-quants. */
    static final BackendProvider NO_Q6_K = new BackendProvider() {
        public String id() {
            return "no-q6k";
        }

        public int priority() {
            return 500;
        }

        public BackendProbe probe() {
            return new BackendProbe("no-q6k", true, "test", Map.of());
        }

        public Backend create(BackendOptions o) {
            Backend scalar = new dev.edgellm.core.backend.scalar.ScalarBackend(1);
            return (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
                if ((m.getName().equals("requireSupported") || m.getName().equals("weight"))
                        && ((dev.edgellm.core.gguf.GgufTensor) args[0]).type() == dev.edgellm.core.gguf.GgmlType.Q6_K) {
                    throw new UnsupportedTensorException("tensor '" + ((dev.edgellm.core.gguf.GgufTensor) args[0]).name() + "' has type Q6_K, refused");
                }
                try {
                    return m.invoke(scalar, args);
                } catch (java.lang.reflect.InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        }
    };

    /**
     * A backend that refuses any tensor of the model is left out, even when the tensor it measures
     * with (layer 0's FFN up projection, Q4_K here) is one it computes: the Q4_K_M file keeps its
     * token embedding in Q6_K.
     */
    @Test
    void aBackendThatRefusesATensorOfTheModelIsLeftOut() throws Exception {
        try (GgufFile f = GgufFile.open(SharedFiles.model("gemma3-kq-q4_k_m.gguf"))) {
            List<Backends.Candidate> candidates = new ArrayList<>(Backends.probeAll());
            candidates.add(new Backends.Candidate(NO_Q6_K, NO_Q6_K.probe()));
            Calibration.Outcome o = Calibration.run(f, candidates, new BackendOptions(1), 4_000_000L, null, s -> { });
            Calibration.Result r = o.results().stream().filter(x -> x.backend().equals("no-q6k")).findFirst().orElseThrow();
            assertFalse(r.usable());
            assertTrue(r.note().startsWith("cannot run this model: tensor 'token_embd.weight' has type Q6_K"), r.note());
            assertTrue(!o.chosen().equals("no-q6k"), o.chosen());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Calibration.run(f, candidates, new BackendOptions(1), 1_000_000L, "no-q6k", s -> { }));
            assertTrue(e.getMessage().contains("token_embd.weight") && e.getMessage().contains("Q6_K"), e.getMessage());
        }
    }
}
