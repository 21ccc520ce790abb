package dev.edgellm.service.testing;

import dev.edgellm.service.engine.GenerationOutcome;
import dev.edgellm.service.monitor.EngineMetrics;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;

/**
 * Makes every generation fail inside the engine: the engine thread tells its job listener (the
 * metrics) how each job ended, in the same {@code try} as the generation, and this listener throws
 * an exception whose text must never reach a client. Only where a profile enables it
 * ({@link Profiles.FaultyEngine}).
 */
@Alternative
@ApplicationScoped
public class FaultyEngine extends EngineMetrics {
    /** The exception's text: internals (a path, an index) that stay in the server log. */
    public static final String SECRET = "tensor blk.7.attn_q.weight at /srv/secret-models/model.gguf offset 0x5eed";

    @Override
    public void finished(String intake, GenerationOutcome o) {
        throw new IllegalStateException(SECRET);
    }
}
