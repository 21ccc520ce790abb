package dev.edgellm.backend.opencl;

import dev.edgellm.core.backend.BackendProbe;

/** Prints the OpenCL probe of this JVM: {@code usable=...} and {@code summary=...} (run in a child JVM by the probe test). */
public final class ProbeMain {
    private ProbeMain() {}

    public static void main(String[] args) {
        BackendProbe p = new OpenClBackendProvider().probe();
        System.out.println("usable=" + p.usable());
        System.out.println("summary=" + p.summary());
    }
}
