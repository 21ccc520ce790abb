package dev.edgellm.service.engine;

import java.util.concurrent.CompletionStage;

/** A submitted job: its outcome, and a way to stop it. */
public interface JobHandle {
    /** An id for logs and responses. */
    String id();

    /**
     * Completes with the outcome (also when cancelled: finish reason {@link FinishReason#CANCELLED}),
     * or exceptionally with {@link EngineFailureException} when the engine failed or shut down.
     */
    CompletionStage<GenerationOutcome> result();

    /** Asks the engine to stop the job: dropped if still queued, stopped at the next token otherwise. */
    void cancel();
}
