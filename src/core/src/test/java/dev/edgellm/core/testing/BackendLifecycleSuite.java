package dev.edgellm.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgellm.core.backend.Backend;
import dev.edgellm.core.model.LanguageModel;
import dev.edgellm.core.model.Session;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * What a backend hands out it takes back: loading a model, running a session and closing both, 20
 * times on one backend, leaves the backend holding the same bytes after every cycle
 * ({@link Backend#ownedBytes()}: repacked weights, device memory; the first cycle may grow the
 * backend's own reusable scratch) and the process's resident memory flat. Subclasses provide the
 * backend.
 */
public abstract class BackendLifecycleSuite {
    static final int CYCLES = 20;

    protected abstract Backend newBackend();

    /** The model cycled: the shared tiny Gemma with every weight type the backends take. */
    protected Path model() {
        return SharedFiles.model("gemma3-tiny-mixed.gguf");
    }

    @Test
    void loadingAndClosingAModelTwentyTimesHoldsNothingBack() throws IOException {
        Path path = model();
        long fileBytes = Files.size(path);
        try (Backend backend = newBackend()) {
            long before = -1;
            long loadedHolds = -1;
            StringBuilder trace = new StringBuilder();
            long[] rssAt = new long[CYCLES];
            int[] prompt = {2, 651, 6037, 576, 573, 1080, 1161};
            for (int i = 0; i < CYCLES; i++) {
                try (LanguageModel m = LanguageModel.load(path, backend); Session s = m.newSession(64, 8)) {
                    s.ingest(prompt);
                    s.next(prompt[1]);
                    long holds = backend.ownedBytes();
                    if (loadedHolds < 0) {
                        loadedHolds = holds;
                    }
                    assertEquals(loadedHolds, holds, "cycle " + i + ": a loaded model's buffers on the backend");
                }
                if (before < 0) {
                    before = backend.ownedBytes();
                }
                assertEquals(before, backend.ownedBytes(), "cycle " + i + ": bytes the backend still holds after closing the model");
                rssAt[i] = rss();
                trace.append(String.format(Locale.ROOT, " %.0f", rssAt[i] / 1048576.0));
            }
            // the lowest RSS of five cycles after warm-up and of the last five: one leaked copy per
            // cycle would add ten copies of the weights between them; the allocator and the GC
            // keep freed memory for a while (single cycles jump by tens of MiB and come back)
            long early = min(rssAt, 5, 10);
            long late = min(rssAt, CYCLES - 5, CYCLES);
            long growth = late - early;
            System.out.printf(Locale.ROOT, "[%s] lifecycle: holds %d bytes per loaded model, %d after closing it; lowest RSS of cycles "
                    + "6-10 %.1f MiB, of cycles 16-20 %.1f MiB (model file %.1f MiB); RSS per cycle (MiB):%s%n", backend.id(), loadedHolds,
                    before, early / 1048576.0, late / 1048576.0, fileBytes / 1048576.0, trace);
            if (early > 0) {
                assertTrue(growth < 2 * fileBytes, String.format(Locale.ROOT,
                        "resident memory grew by %.1f MiB between cycles 6-10 and 16-20 (the model file is %.1f MiB):%s", growth / 1048576.0,
                        fileBytes / 1048576.0, trace));
            }
        }
    }

    private static long min(long[] v, int from, int to) {
        long m = Long.MAX_VALUE;
        for (int i = from; i < to; i++) {
            m = Math.min(m, v[i]);
        }
        return m;
    }

    /** VmRSS after a garbage collection, or 0 where /proc is not there. */
    static long rss() {
        System.gc();
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
