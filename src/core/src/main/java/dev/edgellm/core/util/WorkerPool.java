package dev.edgellm.core.util;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool of compute threads for data-parallel loops: the caller plus {@code threads - 1}
 * daemon workers. {@link #parallelFor} hands out chunks of an index range through an atomic
 * counter and returns when all are done. Threads are created once; a call allocates nothing.
 * Workers spin briefly for the next task (a forward pass issues hundreds back to back), then park.
 */
public final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop: process indices {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int SPIN_BEFORE_PARK = 1 << 14;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger nextChunk = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int generation;
    private volatile boolean closed;
    private volatile Thread caller;
    // The current task; written before 'generation' is bumped (volatile write publishes them).
    private RangeTask task;
    private int end;
    private int chunk;
    private int chunks;
    private volatile Throwable failure;

    public WorkerPool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, name + "-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over {@code [0, n)} in chunks of at least {@code grain} indices, spread over
     * all threads; returns when every chunk is done. Exceptions from any thread are rethrown here.
     */
    public void parallelFor(int n, int grain, RangeTask task) {
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, grain);
        // Aim for a few chunks per thread to balance uneven progress, never below the grain.
        int c = Math.max(g, (n + threads * 4 - 1) / (threads * 4));
        int nChunks = (n + c - 1) / c;
        if (workers.length == 0 || nChunks == 1) {
            task.run(0, n);
            return;
        }
        this.task = task;
        this.end = n;
        this.chunk = c;
        this.chunks = nChunks;
        this.failure = null;
        this.caller = Thread.currentThread();
        nextChunk.set(0);
        pending.set(workers.length);
        generation = generation + 1;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        try {
            runChunks();
        } catch (Throwable e) {
            failure = e;
            nextChunk.set(Integer.MAX_VALUE / 2);
        }
        int spins = 0;
        while (pending.get() != 0) {
            if (++spins < SPIN_BEFORE_PARK) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(this, 50_000);
            }
        }
        this.task = null;
        Throwable f = failure;
        if (f != null) {
            if (f instanceof RuntimeException re) {
                throw re;
            }
            if (f instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(f);
        }
    }

    private void runChunks() {
        RangeTask t = task;
        int c;
        while ((c = nextChunk.getAndIncrement()) < chunks) {
            int from = c * chunk;
            t.run(from, Math.min(end, from + chunk));
        }
    }

    private void workerLoop() {
        int seen = 0;
        while (!closed) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins < SPIN_BEFORE_PARK) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            try {
                runChunks();
            } catch (Throwable e) {
                failure = e;
                nextChunk.set(Integer.MAX_VALUE / 2);
            } finally {
                if (pending.decrementAndGet() == 0) {
                    LockSupport.unpark(caller);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
