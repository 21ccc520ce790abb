package dev.edgellm.core.backend;

import java.util.Map;

/**
 * What a backend found when it probed this machine.
 *
 * @param backend  backend id
 * @param usable   whether it can run here
 * @param summary  one line for logs ("AVX-512: 16 float lanes", "no OpenCL platform")
 * @param details  everything else it found (devices, widths, memory), for reports
 */
public record BackendProbe(String backend, boolean usable, String summary, Map<String, String> details) {
    public BackendProbe {
        details = Map.copyOf(details);
    }
}
