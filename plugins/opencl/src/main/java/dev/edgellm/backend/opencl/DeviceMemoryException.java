package dev.edgellm.backend.opencl;

/**
 * The model (or a session's KV cache and scratch) does not fit the OpenCL device's memory. EdgeLLM
 * does not split layers between the device and the CPU: the message says so and names a CPU backend.
 */
public final class DeviceMemoryException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public DeviceMemoryException(String message) {
        super(message);
    }
}
