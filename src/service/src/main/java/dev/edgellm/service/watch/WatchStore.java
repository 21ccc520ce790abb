package dev.edgellm.service.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * The watches created over the API, one JSON file each under {@code <state-dir>/watches/}
 * ({@code <name>.json}, written to a temporary file and moved into place), read at startup.
 */
final class WatchStore {
    private static final Logger LOG = Logger.getLogger(WatchStore.class);
    private final Path dir;
    private final ObjectMapper json;

    WatchStore(Path dir, ObjectMapper json) {
        this.dir = dir;
        this.json = json;
    }

    Path dir() {
        return dir;
    }

    /** Every stored watch's JSON by name; a file that cannot be read is logged and skipped. */
    Map<String, JsonNode> load() {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String n = f.getFileName().toString();
                if (!n.endsWith(".json")) {
                    continue;
                }
                try {
                    out.put(n.substring(0, n.length() - 5), json.readTree(f.toFile()));
                } catch (IOException e) {
                    LOG.errorf("watch file %s cannot be read (%s); skipped", f, e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.errorf("cannot list %s: %s", dir, e.getMessage());
        }
        return out;
    }

    void save(String name, Map<String, Object> spec) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(name + ".json.tmp");
        json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), spec);
        try {
            Files.move(tmp, dir.resolve(name + ".json"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir.resolve(name + ".json"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    boolean delete(String name) throws IOException {
        return Files.deleteIfExists(dir.resolve(name + ".json"));
    }
}
