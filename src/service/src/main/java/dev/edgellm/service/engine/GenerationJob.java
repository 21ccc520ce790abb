package dev.edgellm.service.engine;

import java.time.Instant;
import java.util.function.BooleanSupplier;

/**
 * A unit of work for the engine, from any intake (HTTP, MQTT, ...).
 *
 * @param intake    where it came from, for metrics and logs ("http", "mqtt", "watch")
 * @param request   what to generate
 * @param sink      receives text as it is produced (on the engine thread; must not block)
 * @param abandoned polled by the engine before and during the job; true when nobody waits for the
 *                  result any more (a disconnected client), which cancels the job
 * @param priority  interactive jobs (REST, MQTT requests) run before background ones (watch summaries)
 * @param startBy   a background job not started by then fails with {@link QueueFullException}
 *                  instead of running late; null: no limit
 */
public record GenerationJob(String intake, GenerationRequest request, TokenSink sink, BooleanSupplier abandoned, Priority priority,
                            Instant startBy) {
    /** Which jobs the engine takes first: every waiting interactive job before any background one. */
    public enum Priority {
        INTERACTIVE, BACKGROUND
    }

    public GenerationJob {
        if (intake == null || intake.isBlank()) {
            throw new IllegalArgumentException("intake is missing");
        }
        if (request == null) {
            throw new IllegalArgumentException("request is missing");
        }
        sink = sink == null ? TokenSink.NONE : sink;
        abandoned = abandoned == null ? () -> false : abandoned;
        priority = priority == null ? Priority.INTERACTIVE : priority;
    }

    /** An interactive job (a client waits for it). */
    public GenerationJob(String intake, GenerationRequest request, TokenSink sink, BooleanSupplier abandoned) {
        this(intake, request, sink, abandoned, Priority.INTERACTIVE, null);
    }

    /** A job whose caller only wants the outcome. */
    public static GenerationJob of(String intake, GenerationRequest request) {
        return new GenerationJob(intake, request, TokenSink.NONE, null);
    }

    /** A background job (runs after every waiting interactive job) that must start by {@code startBy}. */
    public static GenerationJob background(String intake, GenerationRequest request, Instant startBy) {
        return new GenerationJob(intake, request, TokenSink.NONE, null, Priority.BACKGROUND, startBy);
    }
}
