package dev.edgellm.service.engine;

/**
 * Told by the engine thread how each job ended (the metrics listen). Called on the engine thread:
 * must be quick and must not throw.
 */
public interface JobListener {
    /** A job finished, completed or cancelled, with these numbers. */
    void finished(String intake, GenerationOutcome outcome);

    /** A job failed inside the engine. */
    void failed(String intake);
}
