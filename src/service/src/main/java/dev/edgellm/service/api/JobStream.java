package dev.edgellm.service.api;

import dev.edgellm.service.engine.EngineService;
import dev.edgellm.service.engine.GenerationJob;
import dev.edgellm.service.engine.GenerationRequest;
import dev.edgellm.service.engine.JobHandle;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A job whose text is streamed to an HTTP client as it is generated: the engine thread hands each
 * piece to a queue, and the thread writing the response takes them with {@link #next()} (the
 * engine never waits for the network). A client that hangs up cancels the job.
 */
public final class JobStream {
    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final JobHandle handle;
    private final HttpServerResponse http;

    /** Submits the job in its reserved place. */
    public JobStream(EngineService.Reservation place, GenerationRequest request, HttpServerResponse http) {
        this.http = http;
        this.handle = place.submit(new GenerationJob("http", request, events::add, http::closed));
        handle.result().whenComplete((o, t) -> events.add(o != null ? o : t));
    }

    /** The job's id, for the response's id. */
    public String id() {
        return handle.id();
    }

    /**
     * Waits for what comes next: a piece of text ({@link String}), the outcome
     * ({@link dev.edgellm.service.engine.GenerationOutcome}, the last event) or the failure
     * ({@link Throwable}, unwrapped). Null when the client has gone (the job is then cancelled).
     */
    public Object next() throws InterruptedException {
        while (true) {
            Object e = events.poll(500, TimeUnit.MILLISECONDS);
            if (e != null) {
                return e instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : e;
            }
            if (http.closed()) {
                handle.cancel();
                return null;
            }
        }
    }

    /** Stops the job (the response could not be written). */
    public void cancel() {
        handle.cancel();
    }
}
