package dev.edgellm.core.util;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed pool of compute threads for data-parallel loops: the caller plus {@code threads - 1}
 * daemon workers. {@link #parallelFor} hands out contiguous chunks of an index range and returns
 * when all are done. Threads are created once; a call allocates nothing. Workers spin briefly for
 * the next task (a forward pass issues hundreds back to back), then park.
 *
 * <p>The caller waits only for workers that joined the call: a worker that wakes after the caller
 * closed the call (every chunk handed out, the caller done with its own) skips it. So a worker the
 * OS has descheduled (more runnable threads than cores, e.g. another process building) delays
 * nothing: the caller takes all the chunks itself instead of waiting a time slice per call, which
 * took decoding from ~20 to ~2 tokens/s when the machine was shared.
 *
 * <p>Chunks are guided: each thread takes {@code remaining / (2 * threads)} indices (never fewer
 * than the grain), so the first chunks are large (long contiguous streams for each core's
 * prefetchers, few atomic operations) and the last ones small, which bounds the time the first
 * thread to finish waits for the others. With equal chunks of {@code n / (4 * threads)}, up to an
 * eighth of a decode step's product was spent by one thread waiting for the other's last chunk.
 */
public final class WorkerPool implements AutoCloseable {

    /** The body of a parallel loop: process indices {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int SPIN_BEFORE_PARK = 1 << 14;
    private static final VarHandle INT = MethodHandles.arrayElementVarHandle(int[].class);
    /**
     * The two counters every thread updates, in one array 64 bytes apart and away from the array
     * header (the JVM lays out fields by size, so padding fields would not separate them): the
     * next index to hand out, and the workers that joined the current call and have not finished.
     */
    private static final int NEXT = 16;
    private static final int RUNNING = 32;

    private final int threads;
    private final Worker[] workers;

    // Written by the caller before 'generation' is bumped (the volatile write publishes them).
    private RangeTask task;
    private int end;
    private int grain;
    private volatile int generation;
    /** The last generation whose call no longer takes workers. */
    private volatile int closedGeneration;
    private volatile boolean closed;
    private volatile Thread caller;
    private volatile boolean callerParked;
    private volatile Throwable failure;

    private final int[] counters = new int[48];

    private final class Worker extends Thread {
        volatile boolean parked;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        @Override
        public void run() {
            workerLoop(this);
        }
    }

    public WorkerPool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(name + "-" + (i + 1));
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over {@code [0, n)} in contiguous chunks of at least {@code grain} indices,
     * spread over all threads; returns when every chunk is done. Exceptions from any thread are
     * rethrown here.
     */
    public void parallelFor(int n, int grain, RangeTask task) {
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, grain);
        if (workers.length == 0 || n <= g) {
            task.run(0, n);
            return;
        }
        this.task = task;
        this.end = n;
        this.grain = g;
        this.failure = null;
        this.caller = Thread.currentThread();
        INT.setVolatile(counters, NEXT, 0);
        int gen = generation + 1;
        generation = gen;
        for (Worker w : workers) {
            if (w.parked) {
                LockSupport.unpark(w);
            }
        }
        try {
            runChunks();
        } catch (Throwable e) {
            fail(e);
        }
        // Every chunk is handed out. Close the call, then wait for the workers that joined it (a
        // worker joins by incrementing RUNNING and then checking the call is still open; this
        // thread closes it and then reads RUNNING: one of the two sees the other).
        closedGeneration = gen;
        int spins = 0;
        while ((int) INT.getVolatile(counters, RUNNING) != 0) {
            if (++spins < SPIN_BEFORE_PARK) {
                Thread.onSpinWait();
            } else {
                callerParked = true;
                if ((int) INT.getVolatile(counters, RUNNING) != 0) {
                    LockSupport.parkNanos(this, 50_000);
                }
                callerParked = false;
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

    private void fail(Throwable e) {
        failure = e;
        INT.setVolatile(counters, NEXT, Integer.MAX_VALUE);
    }

    private void runChunks() {
        RangeTask t = task;
        int n = end;
        int g = grain;
        int div = 2 * threads;
        while (true) {
            int from = (int) INT.getVolatile(counters, NEXT);
            if (from >= n) {
                return;
            }
            int to = from + Math.max(g, (n - from) / div);
            if (to > n || to < 0) {
                to = n;
            }
            if (INT.compareAndSet(counters, NEXT, from, to)) {
                t.run(from, to);
            }
        }
    }

    private void workerLoop(Worker self) {
        int seen = 0;
        while (!closed) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins < SPIN_BEFORE_PARK) {
                    Thread.onSpinWait();
                } else {
                    self.parked = true;
                    // re-check after publishing 'parked': the caller unparks only parked workers
                    if (generation == seen && !closed) {
                        LockSupport.park(this);
                    }
                    self.parked = false;
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            INT.getAndAdd(counters, RUNNING, 1);
            try {
                // join only an open call: a closed one may be followed by the next call's setup
                if (closedGeneration != seen && generation == seen) {
                    runChunks();
                }
            } catch (Throwable e) {
                fail(e);
            } finally {
                if ((int) INT.getAndAdd(counters, RUNNING, -1) == 1 && callerParked) {
                    LockSupport.unpark(caller);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w);
        }
    }
}
