package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.BackendProbe;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Skips a test class, with the probe's reason, on a machine without an OpenCL platform or device.
 * A condition rather than an assumption in {@code @BeforeAll}: the shared suites' {@code @AfterAll}
 * would otherwise run on a backend that was never created. Where OpenCL is present (CI installs
 * pocl) the tests run and must pass.
 */
public final class RequiresOpenCl implements ExecutionCondition {
    private static volatile BackendProbe probe;

    static BackendProbe probe() {
        BackendProbe p = probe;
        if (p == null) {
            p = new OpenClBackendProvider().probe();
            probe = p;
        }
        return p;
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        BackendProbe p = probe();
        if (p.usable()) {
            return ConditionEvaluationResult.enabled("OpenCL: " + p.summary());
        }
        String reason = "skipped: OpenCL is not usable on this machine: " + p.summary();
        System.out.println("[opencl] " + context.getDisplayName() + " " + reason);
        return ConditionEvaluationResult.disabled(reason);
    }
}
