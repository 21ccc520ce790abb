package dev.edgellm.core.backend;

import dev.edgellm.core.system.JvmSignalHandlers;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.logging.Logger;

/**
 * Finds backend plugins with {@link ServiceLoader}, probes them, and picks one: an explicit
 * choice wins; otherwise the usable backend with the highest priority (the service refines this
 * with measured calibration). Backends are never named in code.
 */
public final class Backends {
    private static final Logger LOG = Logger.getLogger(Backends.class.getName());

    /** A provider with what its probe found. */
    public record Candidate(BackendProvider provider, BackendProbe probe) {}

    /** The outcome of a choice: every candidate, the chosen one, and why. */
    public record Selection(List<Candidate> candidates, Candidate chosen, String reason) {}

    private Backends() {}

    /** All providers on the class path, highest priority first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> list = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()).forEach(list::add);
        list.sort(Comparator.comparingInt(BackendProvider::priority).reversed().thenComparing(BackendProvider::id));
        return list;
    }

    /** Probes every provider; a probe that throws counts as unusable with the error as its summary. */
    public static List<Candidate> probeAll() {
        List<Candidate> out = new ArrayList<>();
        for (BackendProvider p : providers()) {
            out.add(probe(p));
        }
        return out;
    }

    private static Candidate probe(BackendProvider p) {
        BackendProbe probe;
        try {
            probe = guarded(p, "backend probe " + p.id(), p::probe);
        } catch (RuntimeException | LinkageError e) {
            probe = new BackendProbe(p.id(), false, "probe failed: " + e, java.util.Map.of());
        }
        BackendProbe found = probe;
        LOG.fine(() -> "backend probe " + p.id() + ": " + (found.usable() ? "usable: " : "unusable: ") + found.summary());
        return new Candidate(p, probe);
    }

    /**
     * Chooses a backend. A forced id probes that provider only, and the best available is the first
     * usable one in priority order, with no probe of the ones below it: probing loads native code
     * (an OpenCL probe maps the ICD and its compiler, ~55 MB resident with pocl) that a process
     * running another backend never needs. ({@link #probeAll()} probes them all, for reports and
     * calibration.)
     *
     * @param forced an explicit backend id, or null/blank for the best available
     * @throws IllegalArgumentException when the forced id is unknown or not usable here
     */
    public static Selection select(String forced) {
        if (forced != null && !forced.isBlank()) {
            List<BackendProvider> providers = providers();
            for (BackendProvider p : providers) {
                if (p.id().equals(forced)) {
                    Candidate c = probe(p);
                    if (!c.probe().usable()) {
                        throw new IllegalArgumentException("backend '" + forced + "' is not usable here: " + c.probe().summary());
                    }
                    return new Selection(List.of(c), c, "forced by configuration");
                }
            }
            throw new IllegalArgumentException("unknown backend '" + forced + "' (available: "
                    + String.join(", ", providers.stream().map(BackendProvider::id).toList()) + ")");
        }
        // highest priority first, stopping at the first usable one: the ones below it are not
        // probed (and load no native code), listed as such
        List<Candidate> candidates = new ArrayList<>();
        Candidate chosen = null;
        for (BackendProvider p : providers()) {
            if (chosen != null) {
                candidates.add(new Candidate(p, new BackendProbe(p.id(), false,
                        "not probed: " + chosen.provider().id() + " (priority " + chosen.provider().priority() + ") is usable", java.util.Map.of())));
                continue;
            }
            Candidate c = probe(p);
            candidates.add(c);
            if (c.probe().usable()) {
                chosen = c;
            }
        }
        if (chosen != null) {
            return new Selection(List.copyOf(candidates), chosen, "highest-priority usable backend (priority " + chosen.provider().priority() + ")");
        }
        throw new IllegalStateException("no usable backend found (is edgellm-core on the class path?)");
    }

    /** Creates the backend of a selection. */
    public static Backend create(Selection selection, BackendOptions options) {
        return create(selection.chosen().provider(), options);
    }

    /**
     * Creates a backend of {@code provider}. Probes and creations are where a backend starts native
     * code (an OpenCL driver and its compiler): for a provider that {@link BackendProvider#loadsNativeCode()
     * loads native code} both run under {@link JvmSignalHandlers#guard}, so a driver that takes the
     * JVM's signal handlers gives them back.
     */
    public static Backend create(BackendProvider provider, BackendOptions options) {
        return guarded(provider, "backend " + provider.id(), () -> provider.create(options));
    }

    private static <T> T guarded(BackendProvider provider, String what, java.util.function.Supplier<T> call) {
        return provider.loadsNativeCode() ? JvmSignalHandlers.guard(what, call) : call.get();
    }
}
