package dev.edgellm.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Locates the read-only shared test data (golden models and llama.cpp references) that sits beside
 * the checkout. Surefire passes its location as the system property {@code edgellm.shared.dir};
 * when a test runs without it (an IDE, say) the usual relative locations are tried. A missing
 * directory or file is an error that says where it was looked for, never a silent skip.
 */
public final class SharedFiles {
    public static final String PROPERTY = "edgellm.shared.dir";
    /**
     * The same as an environment variable, for test JVMs where an {@code edgellm.*} system property
     * is not welcome (the Quarkus service validates its {@code edgellm} configuration namespace).
     */
    public static final String ENV = "EDGELLM_SHARED_DIR";

    private SharedFiles() {}

    /** The shared data directory. */
    public static Path shared() {
        String configured = System.getProperty(PROPERTY);
        if (configured == null || configured.isBlank()) {
            configured = System.getenv(ENV);
        }
        if (configured != null && !configured.isBlank()) {
            Path p = Path.of(configured).toAbsolutePath().normalize();
            if (!Files.isDirectory(p)) {
                throw new IllegalStateException("shared test data directory " + p + " (system property " + PROPERTY + "=" + configured
                        + ") does not exist or is not a directory");
            }
            return p;
        }
        List<Path> tried = new ArrayList<>();
        // ../../../shared from a module directory (src/core), ../shared from the repository root.
        for (String candidate : List.of("../../../shared", "../shared")) {
            Path p = Path.of(candidate).toAbsolutePath().normalize();
            tried.add(p);
            if (Files.isDirectory(p.resolve("models")) && Files.isDirectory(p.resolve("reference"))) {
                return p;
            }
        }
        throw new IllegalStateException("shared test data directory not found: system property " + PROPERTY + " is not set and none of "
                + tried + " exists; run the tests through Maven (the root pom sets it) or pass -D" + PROPERTY + "=/path/to/shared");
    }

    /** A file under {@code shared/models}. */
    public static Path model(String name) {
        return existing(shared().resolve("models").resolve(name), "model");
    }

    /** A file under {@code shared/reference} (may contain subdirectories, e.g. {@code tokenizer/gemma.inp}). */
    public static Path reference(String name) {
        return existing(shared().resolve("reference").resolve(name), "reference file");
    }

    private static Path existing(Path p, String what) {
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException(what + " " + p + " does not exist (shared test data from " + PROPERTY + ")");
        }
        return p;
    }
}
