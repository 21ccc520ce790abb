package dev.edgellm.service.engine;

import java.util.function.BooleanSupplier;

/**
 * A unit of work for the engine, from any intake (HTTP, MQTT, ...).
 *
 * @param intake    where it came from, for metrics and logs ("http", "mqtt")
 * @param request   what to generate
 * @param sink      receives text as it is produced (on the engine thread; must not block)
 * @param abandoned polled by the engine before and during the job; true when nobody waits for the
 *                  result any more (a disconnected client), which cancels the job
 */
public record GenerationJob(String intake, GenerationRequest request, TokenSink sink, BooleanSupplier abandoned) {
    public GenerationJob {
        if (intake == null || intake.isBlank()) {
            throw new IllegalArgumentException("intake is missing");
        }
        if (request == null) {
            throw new IllegalArgumentException("request is missing");
        }
        sink = sink == null ? TokenSink.NONE : sink;
        abandoned = abandoned == null ? () -> false : abandoned;
    }

    /** A job whose caller only wants the outcome. */
    public static GenerationJob of(String intake, GenerationRequest request) {
        return new GenerationJob(intake, request, TokenSink.NONE, null);
    }
}
