package dev.edgellm.core.backend.cpu;

import dev.edgellm.core.backend.Activations;

/** Activations of a CPU backend: a plain float array on the Java heap. */
public final class HostActivations implements Activations {
    public final float[] data;

    public HostActivations(int floats) {
        this.data = new float[floats];
    }

    @Override
    public int length() {
        return data.length;
    }
}
