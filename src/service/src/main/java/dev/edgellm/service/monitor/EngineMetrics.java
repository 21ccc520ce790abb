package dev.edgellm.service.monitor;

import dev.edgellm.service.engine.FinishReason;
import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.engine.JobListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;

/**
 * Counters and timers of the engine and its intakes, exported at {@code /q/metrics}:
 * {@code edgellm_tokens_generated_total}, {@code edgellm_tokens_prompt_total},
 * {@code edgellm_generation_tokens_per_second}, {@code edgellm_time_to_first_token_seconds},
 * {@code edgellm_requests_total{intake,outcome}}. Gauges (queue, memory) are in {@link Gauges}.
 */
@ApplicationScoped
public class EngineMetrics implements JobListener {
    /** Outcomes counted in {@code edgellm_requests_total}. */
    public static final String COMPLETED = "completed";
    public static final String CANCELLED = "cancelled";
    public static final String FAILED = "failed";
    public static final String QUEUE_FULL = "queue_full";
    public static final String NOT_READY = "not_ready";
    public static final String INVALID = "invalid";
    public static final String TOO_LARGE = "too_large";
    /** A duplicate delivery answered from the cache of recent responses (MQTT). */
    public static final String DUPLICATE = "duplicate";
    /** No or a wrong API key (HTTP 401). */
    public static final String UNAUTHORIZED = "unauthorized";
    /** A request body sent too slowly (HTTP 408). */
    public static final String TIMEOUT = "timeout";
    /** Work that expired before it ran (MQTT {@code expires_at} / {@code ttl_s}). */
    public static final String EXPIRED = "expired";
    /** A request dropped because the MQTT inbox was full (QoS 0). */
    public static final String DROPPED = "dropped";
    /** A work pool request this busy node handed back to the pool for a member with room (MQTT). */
    public static final String HANDED_BACK = "handed_back";
    /** A request whose id was reused for a different request (MQTT). */
    public static final String CONFLICT = "conflict";

    @Inject
    MeterRegistry registry;

    private Counter generated;
    private Counter prompt;
    private DistributionSummary tokensPerSecond;
    private Timer firstToken;
    private volatile double lastTokensPerSecond;

    @PostConstruct
    void init() {
        generated = Counter.builder("edgellm.tokens.generated").description("Tokens generated").register(registry);
        prompt = Counter.builder("edgellm.tokens.prompt").description("Prompt tokens processed").register(registry);
        tokensPerSecond = DistributionSummary.builder("edgellm.generation.tokens.per.second")
                .description("Decode speed of each finished generation (tokens/s)").register(registry);
        firstToken = Timer.builder("edgellm.time.to.first.token").description("From the start of prompt processing to the first token")
                .publishPercentileHistogram(false).register(registry);
    }

    /** A job finished (completed or cancelled) with these numbers. */
    @Override
    public void finished(String intake, GenerationOutcome o) {
        generated.increment(o.completionTokens());
        prompt.increment(o.promptTokens());
        if (o.firstTokenNanos() > 0) {
            firstToken.record(Duration.ofNanos(o.firstTokenNanos()));
        }
        double tps = o.tokensPerSecond();
        if (tps > 0) {
            tokensPerSecond.record(tps);
            lastTokensPerSecond = tps;
        }
        outcome(intake, o.finishReason() == FinishReason.CANCELLED ? CANCELLED : COMPLETED);
    }

    @Override
    public void failed(String intake) {
        outcome(intake, FAILED);
    }

    /** Counts a request by intake ("http", "mqtt") and outcome. */
    public void outcome(String intake, String outcome) {
        registry.counter("edgellm.requests", "intake", intake, "outcome", outcome).increment();
    }

    /** Decode speed of the last finished generation. */
    public double lastTokensPerSecond() {
        return lastTokensPerSecond;
    }

    public double tokensGenerated() {
        return generated.count();
    }
}
