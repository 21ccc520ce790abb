package dev.edgellm.service.watch;

import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/** {@code edgellm_watch_windows_total{watch,outcome}}: what became of every window of every watch. */
@ApplicationScoped
public class WatchMetrics {
    /** The summary was published (the broker acknowledged it). */
    public static final String PUBLISHED = "published";
    /** The window had no records: nothing to summarize. */
    public static final String EMPTY = "empty";
    /** A window of a watch that summarizes on its condition only closed without it firing. */
    public static final String NOT_TRIGGERED = "not_triggered";
    /** No model is loaded: reported on the errors topic. */
    public static final String MODEL_NOT_LOADED = "model_not_loaded";
    /** The engine's queue stayed busy longer than the window: reported on the errors topic. */
    public static final String QUEUE_FULL = "queue_full";
    /** Not even the window's statistics fit the model's context: reported on the errors topic. */
    public static final String TOO_LARGE = "too_large";
    /** The engine failed: reported on the errors topic. */
    public static final String FAILED = "failed";

    @Inject
    MeterRegistry registry;

    public void count(String watch, String outcome) {
        registry.counter("edgellm.watch.windows", "watch", watch, "outcome", outcome).increment();
    }

    public double value(String watch, String outcome) {
        var c = registry.find("edgellm.watch.windows").tags("watch", watch, "outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }
}
