package dev.edgellm.service.engine;

/**
 * Receives a job's text as it is generated. Called on the engine thread, so it must return quickly
 * and never block (hand the text to another thread, e.g. through a queue). Text held back because it
 * may begin a stop string is delivered once it is known not to.
 */
@FunctionalInterface
public interface TokenSink {
    /** A sink for callers that only want the final outcome. */
    TokenSink NONE = delta -> { };

    void onText(String delta);
}
