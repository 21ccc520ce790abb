package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.BackendProbe;
import dev.edgellm.core.system.JvmSignalHandlers;

/**
 * Probes OpenCL without the guard, in a child JVM of {@link SignalHandlersTest}, and prints what
 * the driver did to the JVM's SIGSEGV handler and what {@link JvmSignalHandlers#restore} put back.
 */
public final class SignalHandlersMain {
    private SignalHandlersMain() {}

    public static void main(String[] args) {
        JvmSignalHandlers.Snapshot before = JvmSignalHandlers.snapshot();
        BackendProbe p = new OpenClBackendProvider().probe(); // not Backends.probeAll(): no guard
        System.out.println("usable=" + p.usable());
        System.out.println("after-probe=" + JvmSignalHandlers.current(11).orElseThrow().library());
        JvmSignalHandlers.Restored r = JvmSignalHandlers.restore(before);
        System.out.println("restored=" + String.join(",", r.signals()));
        System.out.println("libraries=" + String.join(",", r.libraries()));
        System.out.println("after-restore=" + JvmSignalHandlers.current(11).orElseThrow().library());
    }
}
