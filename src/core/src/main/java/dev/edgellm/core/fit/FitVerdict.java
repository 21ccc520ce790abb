package dev.edgellm.core.fit;

/**
 * Whether a model fits the memory budget.
 *
 * @param status      fits / fits with a shorter context / does not fit
 * @param requested   the estimate at the requested context
 * @param maxContext  the longest context that fits (0 when nothing does)
 * @param budgetBytes the memory available to the model
 * @param budgetSource where the budget comes from (container limit, MemAvailable, configuration)
 */
public record FitVerdict(Status status, MemoryEstimate requested, int maxContext, long budgetBytes, String budgetSource) {

    public enum Status {
        FITS, FITS_REDUCED_CONTEXT, DOES_NOT_FIT
    }

    public boolean fits() {
        return status != Status.DOES_NOT_FIT;
    }

    /** One line for logs, health checks and the CLI. */
    public String summary() {
        MemoryEstimate e = requested;
        String need = String.format(java.util.Locale.ROOT, "needs %s (weights %s + KV cache %s at %d tokens + scratch %s + runtime %s) of %s available (%s)",
                mib(e.totalBytes()), mib(e.weightBytes()), mib(e.kvCacheBytes()), e.context(), mib(e.scratchBytes()),
                mib(e.overheadBytes()), mib(budgetBytes), budgetSource);
        return switch (status) {
            case FITS -> "fits: " + need;
            case FITS_REDUCED_CONTEXT -> "fits up to a context of " + maxContext + " tokens: " + need;
            case DOES_NOT_FIT -> "does not fit: " + need;
        };
    }

    static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
