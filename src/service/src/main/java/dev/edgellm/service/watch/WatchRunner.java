package dev.edgellm.service.watch;

import dev.edgellm.service.watch.Window.ClosedWindow;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A watch while this node runs it: takes messages into the open window and closes it on schedule
 * ({@code window.time}), at {@code window.count} records, or {@code trigger.after} a record matched
 * the condition (one early summary at a time: matches while one is pending join it). Each closed
 * window goes to {@code closed} (the {@link WatchSummarizer}). Messages arrive on the MQTT event
 * loop, ticks on the watches' timer thread; the window is guarded by this object's lock.
 */
final class WatchRunner {
    private final CompiledWatch watch;
    private final ScheduledExecutorService timer;
    private final Consumer<ClosedWindow> closed;
    private final Consumer<String> count;
    private final Clock clock;
    private Window window;
    private ScheduledFuture<?> tick;
    private ScheduledFuture<?> early;
    private WatchRecord firedBy;
    private boolean stopped;

    /**
     * @param closed gets every closed window that has records and is to be summarized
     * @param count  counts windows not summarized by design ({@code empty}, {@code not_triggered})
     */
    WatchRunner(CompiledWatch watch, ScheduledExecutorService timer, Consumer<ClosedWindow> closed, Consumer<String> count, Clock clock) {
        this.watch = watch;
        this.timer = timer;
        this.closed = closed;
        this.count = count;
        this.clock = clock;
    }

    CompiledWatch watch() {
        return watch;
    }

    synchronized void start() {
        window = new Window(clock.instant(), watch.spec().maxBytes());
        if (watch.spec().windowTime() != null) {
            long ms = watch.spec().windowTime().toMillis();
            tick = timer.scheduleAtFixedRate(this::onTick, ms, ms, TimeUnit.MILLISECONDS);
        }
    }

    /** Stops: the open window is dropped (its records are lost, as after a restart). */
    synchronized void stop() {
        stopped = true;
        if (tick != null) {
            tick.cancel(false);
        }
        if (early != null) {
            early.cancel(false);
        }
    }

    /** Records in the open window. */
    synchronized int open() {
        return window == null ? 0 : window.count();
    }

    /** A message on one of the watch's topics (event loop). */
    void accept(String topic, byte[] payload) {
        Instant at = clock.instant();
        CompiledWatch.Taken t = watch.take(topic, payload, at);
        synchronized (this) {
            if (stopped) {
                return;
            }
            window.add(t.record());
            if (watch.spec().windowCount() > 0 && window.count() >= watch.spec().windowCount() && early == null) {
                close("count", null);
                return;
            }
            if (t.fires() && early == null) {
                firedBy = t.record();
                long ms = watch.spec().after().toMillis();
                early = timer.schedule(this::onEarly, ms, TimeUnit.MILLISECONDS);
            }
        }
    }

    private synchronized void onTick() {
        if (stopped) {
            return;
        }
        if (early != null) {
            return; // an early summary is about to close this window
        }
        if (!watch.spec().schedule()) {
            if (window.count() > 0) {
                count.accept(WatchMetrics.NOT_TRIGGERED);
            }
            window = new Window(clock.instant(), watch.spec().maxBytes());
            return;
        }
        close("schedule", null);
    }

    private synchronized void onEarly() {
        early = null;
        if (!stopped) {
            close("condition", firedBy);
        }
        firedBy = null;
    }

    private void close(String trigger, WatchRecord by) {
        Instant now = clock.instant();
        ClosedWindow c = window.close(now, trigger, by);
        window = new Window(now, watch.spec().maxBytes());
        if (c.total() == 0) {
            count.accept(WatchMetrics.EMPTY);
            return;
        }
        closed.accept(c);
    }
}
