package dev.edgellm.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.cpu.CpuBackend;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.gguf.GgufFile;
import dev.edgellm.core.gguf.GgufTensor;
import dev.edgellm.core.testing.SharedFiles;
import dev.edgellm.core.testing.TensorFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
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
            // a round line per measuring round, and one summary line per candidate
            assertEquals(candidates.size(), log.stream().filter(l -> !l.contains(" round ")).count());
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

    // ---- timing on a fake clock: which backend wins, deterministically -----------------------------

    /** A fake clock that backends advance by the time their products "take". */
    static final AtomicLong CLOCK = new AtomicLong();

    /**
     * A backend whose matrix products take {@code slowNanos} for the first {@code slowCalls} calls
     * (a kernel not compiled yet, or a busy machine) and {@code fastNanos} per token after that.
     */
    static BackendProvider timed(String id, int priority, int slowCalls, long slowNanos, long fastNanos) {
        return new BackendProvider() {
            public String id() {
                return id;
            }

            public int priority() {
                return priority;
            }

            public BackendProbe probe() {
                return new BackendProbe(id, true, "fake", Map.of());
            }

            public Backend create(BackendOptions o) {
                return new CpuBackend(id, 1) {
                    private int calls;

                    @Override
                    public void matmul(Weight w, Activations x, Activations out, int n) {
                        CLOCK.addAndGet(calls++ < slowCalls ? slowNanos : fastNanos * n);
                    }

                    @Override
                    public void rmsNorm(Activations x, Weight weight, Activations out, int width, int rows, float eps) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public void rope(Activations x, int n, int heads, int headDim, int startPos, RopeSpec rope) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public void attention(Activations q, KvCache cache, int layer, int startPos, int n, AttentionSpec spec, Activations out) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public void geluMul(Activations gate, Activations up, int len) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public void siluMul(Activations gate, Activations up, int len) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public void add(Activations x, Activations y, int len) {
                        throw new UnsupportedOperationException();
                    }
                };
            }
        };
    }

    private static Calibration.Outcome calibrate(List<String> log, BackendProvider... providers) {
        GgufTensor t = TensorFactory.tensor("blk.0.ffn_up.weight", GgmlType.F32, 64, 32,
                TensorFactory.random(new SplittableRandom(1), 64 * 32, 1f));
        List<Backends.Candidate> candidates = new ArrayList<>();
        for (BackendProvider p : providers) {
            candidates.add(new Backends.Candidate(p, p.probe()));
        }
        return Calibration.run(t, candidates, new BackendOptions(1), 3_000_000_000L, null, log::add, CLOCK::get);
    }

    /**
     * The case from the field: the CPU backend's first products ran before its kernels were
     * compiled (38 ms each, on a busy machine), the device's never change (29 us). Warmed up and
     * measured until stable, the CPU backend's real speed (10 us) wins.
     */
    @Test
    void aBackendThatStartsSlowIsMeasuredOnceWarm() {
        List<String> log = new ArrayList<>();
        Calibration.Outcome o = calibrate(log,
                timed("cpu", 100, 30, 38_000_000L, 10_000L),
                timed("device", 50, 0, 0, 29_000L));
        assertEquals("cpu", o.chosen(), String.join("\n", log));
        Calibration.Result cpu = o.results().getFirst();
        assertTrue(cpu.stable(), cpu.toString());
        assertTrue(cpu.rounds() >= 2, cpu.toString());
        // the slow calls outlasted the warm-up: the first round saw some, the result none
        assertTrue(log.stream().anyMatch(l -> l.contains("cpu") && l.contains("round 1: decode 38000.0 us")), String.join("\n", log));
        assertEquals(10_000, cpu.nanosPerOp(), 1, cpu.toString());
        assertTrue(log.stream().anyMatch(l -> l.contains("cpu") && l.contains("round 1")), String.join("\n", log));
        assertTrue(log.stream().anyMatch(l -> l.contains("cpu") && l.contains("(stable)")), String.join("\n", log));
    }

    @Test
    void aNearTieKeepsTheHigherPriorityBackend() {
        Calibration.Outcome o = calibrate(new ArrayList<>(),
                timed("cpu", 100, 0, 0, 10_500L),
                timed("device", 50, 0, 0, 10_000L));
        assertEquals("cpu", o.chosen());
        assertTrue(o.reason().startsWith("near tie"), o.reason());
        Calibration.Outcome clear = calibrate(new ArrayList<>(),
                timed("cpu", 100, 0, 0, 13_000L),
                timed("device", 50, 0, 0, 10_000L));
        assertEquals("device", clear.chosen());
        assertTrue(clear.reason().startsWith("fastest measured"), clear.reason());
    }

    /** A lower-priority backend far behind a settled one stops after two rounds; a higher-priority one is never cut short. */
    @Test
    void aClearlyLosingLowerPriorityBackendStopsEarly() {
        List<String> log = new ArrayList<>();
        Calibration.Outcome o = calibrate(log, timed("cpu", 100, 0, 0, 10_000L), unsteadyAt(100_000L));
        Calibration.Result slow = o.results().get(1);
        assertEquals(2, slow.rounds(), String.join("\n", log));
        assertTrue(slow.note().contains("stopped: over 3x slower than cpu"), slow.note());
        assertEquals("cpu", o.chosen());
    }

    /** A backend that never settles is reported as such, and measuring it stops at the budget. */
    @Test
    void anUnstableBackendIsReportedAndBounded() {
        List<String> log = new ArrayList<>();
        Calibration.Outcome o = calibrate(log, unsteady());
        Calibration.Result r = o.results().get(0);
        assertFalse(r.stable(), r.toString());
        assertTrue(r.note().contains("NOT stable"), r.note());
        assertTrue(r.rounds() <= Calibration.MAX_ROUNDS, r.toString());
    }

    static BackendProvider unsteady() {
        return unsteadyAt(10_000L);
    }

    /** Alternates between 1x and 3x {@code nanos} per product and token, round by round, so no two rounds agree. */
    static BackendProvider unsteadyAt(long nanos) {
        return new BackendProvider() {
            public String id() {
                return "unsteady";
            }

            public int priority() {
                return 10;
            }

            public BackendProbe probe() {
                return new BackendProbe("unsteady", true, "fake", Map.of());
            }

            public Backend create(BackendOptions o) {
                Backend inner = timed("unsteady", 10, 0, 0, 0).create(o);
                return new Backend() {
                    private int rounds;
                    private int calls;

                    public String id() { return "unsteady"; }
                    public int threads() { return 1; }
                    public Weight weight(GgufTensor tensor) { return inner.weight(tensor); }
                    public Activations allocate(int floats) { return inner.allocate(floats); }
                    public void write(float[] src, int so, Activations dst, int d, int len) { inner.write(src, so, dst, d, len); }
                    public void read(Activations src, int so, float[] dst, int d, int len) {
                        // one round = 2 shapes x SAMPLES reads: flip the speed every round
                        if (++calls % (2 * Calibration.SAMPLES) == 0) {
                            rounds++;
                        }
                    }
                    public void copy(Activations src, int so, Activations dst, int d, int len) { }
                    public KvCache kvCache(KvCacheSpec spec) { throw new UnsupportedOperationException(); }
                    public void embed(Weight table, int[] tokens, int n, float scale, Activations out) { }
                    public void matmul(Weight w, Activations x, Activations out, int n) {
                        CLOCK.addAndGet((rounds % 2 == 0 ? nanos : 3 * nanos) * n);
                    }
                    public void rmsNorm(Activations x, Weight w, Activations out, int width, int rows, float eps) { }
                    public void rope(Activations x, int n, int heads, int headDim, int startPos, RopeSpec rope) { }
                    public void kvStore(KvCache cache, int layer, Activations k, Activations v, int startPos, int n) { }
                    public void attention(Activations q, KvCache c, int l, int s, int n, AttentionSpec spec, Activations out) { }
                    public void geluMul(Activations gate, Activations up, int len) { }
                    public void siluMul(Activations gate, Activations up, int len) { }
                    public void add(Activations x, Activations y, int len) { }
                    public void close() { inner.close(); }
                };
            }
        };
    }
}
