package dev.edgellm.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the read-only shared/ directory (golden models and llama.cpp references) through the
 * {@code edgellm.shared.dir} system property, which Surefire sets from the root pom.
 */
public final class SharedFiles {
    /** The system property naming the shared/ directory. */
    public static final String PROPERTY = "edgellm.shared.dir";

    private SharedFiles() {}

    /** The shared/ directory; a clear error when the property is unset or does not name a directory. */
    public static Path shared() {
        String dir = System.getProperty(PROPERTY);
        if (dir == null || dir.isBlank()) {
            throw new IllegalStateException("system property " + PROPERTY
                    + " is not set: run the tests through Maven (the root pom sets it) or pass -D" + PROPERTY + "=/path/to/shared");
        }
        Path p = Path.of(dir).toAbsolutePath().normalize();
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException(PROPERTY + "=" + dir + " is not a directory (resolved to " + p
                    + "); shared/ is expected beside the checkout");
        }
        return p;
    }

    /** A file under shared/models, which must exist. */
    public static Path model(String name) {
        return existing(shared().resolve("models").resolve(name), "model");
    }

    /** A file or directory under shared/reference, which must exist. */
    public static Path reference(String name) {
        return existing(shared().resolve("reference").resolve(name), "reference");
    }

    private static Path existing(Path p, String what) {
        if (!Files.exists(p)) {
            throw new IllegalStateException(what + " " + p + " does not exist in shared/ (" + PROPERTY + "=" + System.getProperty(PROPERTY) + ")");
        }
        return p;
    }
}
