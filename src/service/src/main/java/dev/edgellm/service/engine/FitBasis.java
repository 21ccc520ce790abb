package dev.edgellm.service.engine;

import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.core.fit.MemoryFit;
import dev.edgellm.core.gguf.GgmlType;
import dev.edgellm.core.model.ModelConfig;
import java.nio.file.Path;
import java.util.Map;

/** The configured model's shape and weights against the memory budget found at startup. */
public record FitBasis(Path path, ModelConfig config, Map<GgmlType, Long> weights, int batch, long runtimeOverhead, long budget,
                       String budgetSource) {
    /** The verdict at a context length (capped at the model's trained context). */
    public FitVerdict judge(int context) {
        return MemoryFit.judge(config, weights, context, batch, runtimeOverhead, budget, budgetSource);
    }
}
