package dev.edgellm.service.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/**
 * Every setting of the service, under {@code edgellm.*}. Each property can also be given as an
 * environment variable: upper case, dots and dashes as underscores ({@code edgellm.model.path} is
 * {@code EDGELLM_MODEL_PATH}, {@code edgellm.queue.size} is {@code EDGELLM_QUEUE_SIZE}).
 */
@ConfigMapping(prefix = "edgellm")
public interface EdgeLlmConfig {

    /** The model file and the directory {@code POST /api/fit} may look into. */
    Model model();

    /**
     * Context length (tokens) to allocate the KV cache for. Capped at the model's trained context
     * and at what fits the memory limit; the context in use is reported in {@code /api/system}.
     */
    @WithDefault("4096")
    int context();

    /** Tokens per forward batch during prompt processing. */
    @WithDefault("64")
    int batch();

    /** Compute threads; 0 means one per available core. */
    @WithDefault("0")
    int threads();

    /**
     * The backend plugin to use ({@code scalar}, {@code vector}, {@code opencl}, ...), or
     * {@code auto} to measure every usable backend at startup and take the fastest.
     */
    @WithDefault("auto")
    String backend();

    /** Startup calibration of the backends. */
    Calibration calibration();

    /** The memory limit the model must fit. */
    Memory memory();

    /** The queue of generation jobs in front of the single engine thread. */
    Queue queue();

    /** Limits on requests. */
    Limits limits();

    /** The liveness watchdog on token progress. */
    Watchdog watchdog();

    /** Scheduled jobs: memory re-probe and status snapshot. */
    Monitor monitor();

    interface Model {
        /** Path of the GGUF model file loaded at startup. */
        @WithDefault("models/model.gguf")
        String path();

        /**
         * Directory {@code POST /api/fit} may read GGUF headers from; paths escaping it are
         * rejected. Defaults to the directory of {@link #path()}.
         */
        Optional<String> dir();
    }

    interface Calibration {
        /** Time each usable backend gets to warm up (first half) and then time decode- and prompt-shaped products on the model's own FFN weight. */
        @WithDefault("1s")
        Duration budget();
    }

    interface Memory {
        /**
         * The memory limit to fit the model into, overriding what the probe found (container
         * limit, else available memory). Sizes like {@code 512M} or {@code 2G}.
         */
        Optional<MemorySize> limit();

        /** JVM and runtime memory counted on top of weights, KV cache and scratch. */
        @WithDefault("96M")
        MemorySize runtimeOverhead();
    }

    interface Queue {
        /** Jobs that may wait for the engine (the one running is not counted); a full queue answers 429. */
        @WithDefault("8")
        int size();

        /** The {@code Retry-After} given with 429 (queue full) and 503 (model not loaded). */
        @WithDefault("2s")
        Duration retryAfter();
    }

    interface Limits {
        /** Most prompt tokens a request may have (after the chat template); more answers 400. */
        @WithDefault("4096")
        int maxPromptTokens();

        /** Largest {@code max_tokens} a request may ask for; more answers 400. */
        @WithDefault("2048")
        int maxTokens();

        /** {@code max_tokens} when a request gives none. */
        @WithDefault("256")
        int defaultMaxTokens();

        /** Most stop strings a request may give. */
        @WithDefault("4")
        int maxStopSequences();
    }

    interface Watchdog {
        /**
         * Liveness turns DOWN when a job has made no progress (prompt batch or token) for this
         * long. Set it above the time of one prompt batch on the slowest expected hardware.
         */
        @WithDefault("120s")
        Duration stallTimeout();
    }

    interface Monitor {
        /** How often memory (available, container usage, process RSS) is probed again. */
        @WithDefault("15s")
        Duration memoryInterval();

        /** How often a status snapshot is logged and kept for {@code /api/system}. */
        @WithDefault("60s")
        Duration statusInterval();
    }
}
