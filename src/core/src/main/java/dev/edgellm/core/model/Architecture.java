package dev.edgellm.core.model;

import dev.edgellm.core.gguf.GgufFormatException;

/** The architectures EdgeLLM runs, by their {@code general.architecture} name. */
public enum Architecture {
    LLAMA("llama"),
    GEMMA3("gemma3");

    private final String ggufName;

    Architecture(String ggufName) {
        this.ggufName = ggufName;
    }

    public String ggufName() {
        return ggufName;
    }

    public static Architecture of(String name, String source) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new GgufFormatException(source + ": architecture '" + name + "' is not supported (supported: llama, gemma3)");
    }
}
