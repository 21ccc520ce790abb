package dev.edgellm.service.engine;

import dev.edgellm.core.backend.Backends;
import dev.edgellm.core.backend.Calibration;
import dev.edgellm.core.fit.FitVerdict;
import dev.edgellm.core.system.SystemInfo;
import java.nio.file.Path;
import java.util.List;

/**
 * What the engine's startup found and chose ({@link EngineStartup}): the machine, every backend's
 * probe, the memory fit, the calibration, the context and the chat template; or why the model was
 * not loaded. Each part is null when startup ended before it (a missing model has no fit).
 *
 * @param modelPath           the configured model, absolute
 * @param system              CPU, memory and cgroup as probed at startup
 * @param vectorSpecies       the Vector API's preferred species, in words
 * @param backends            every backend plugin found, with its probe
 * @param fitBasis            the model's shape and weights against the memory budget
 * @param verdict             the memory fit at the requested context
 * @param requestedContext    the context asked for, capped at the model's own
 * @param context             the context the session was allocated for (0 when not loaded)
 * @param threads             compute threads
 * @param calibration         each candidate's measurements and the choice
 * @param chatTemplate        the chat template in use, in words, or null
 * @param chatTemplateWarning why the file's own template is not used (it does not parse), or null
 * @param chatTemplateProblem why chat requests are refused (no template), or null
 * @param loadMillis          time from the start of probing to ready
 * @param failure             why no model is loaded, or null when one is
 */
public record StartupReport(Path modelPath, SystemInfo system, String vectorSpecies, List<Backends.Candidate> backends, FitBasis fitBasis,
                            FitVerdict verdict, int requestedContext, int context, int threads, Calibration.Outcome calibration,
                            String chatTemplate, String chatTemplateWarning, String chatTemplateProblem, long loadMillis, String failure) {
    public StartupReport {
        backends = backends == null ? List.of() : List.copyOf(backends);
    }

    /** Whether a model was loaded. */
    public boolean loaded() {
        return failure == null;
    }

    /** Nothing known yet: startup has not run. */
    static StartupReport none(Path modelPath) {
        return new StartupReport(modelPath, null, null, List.of(), null, null, 0, 0, 0, null, null, null, null, 0, null);
    }
}
