package dev.edgellm.service.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The watches file ({@code edgellm.watches-file}): YAML or JSON, {@code watches: {<name>: {...}}}
 * (or the map of watches itself), each entry in the API's shape. {@link #changed()} tells when it was
 * modified since it was last read.
 */
final class WatchFile {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private final Path file;
    private FileTime readAt;
    private long readSize = -1;

    WatchFile(Path file) {
        this.file = file;
    }

    Path path() {
        return file;
    }

    /** Whether the file changed (or appeared, or went away) since the last {@link #read()}. */
    synchronized boolean changed() {
        try {
            if (!Files.exists(file)) {
                return readSize != -1;
            }
            return !Files.getLastModifiedTime(file).equals(readAt) || Files.size(file) != readSize;
        } catch (IOException e) {
            return false;
        }
    }

    /** The watches in the file by name; none when it does not exist. */
    synchronized Map<String, JsonNode> read() throws IOException {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (!Files.exists(file)) {
            readSize = -1;
            readAt = null;
            return out;
        }
        readAt = Files.getLastModifiedTime(file);
        readSize = Files.size(file);
        JsonNode root = YAML.readTree(file.toFile()); // YAML is a superset of JSON
        if (root == null || root.isNull() || root.isMissingNode()) {
            return out;
        }
        JsonNode watches = root.has("watches") ? root.get("watches") : root;
        if (!watches.isObject()) {
            throw new IOException("the watches file holds a map of watches by name (under 'watches:')");
        }
        for (Map.Entry<String, JsonNode> e : watches.properties()) {
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }
}
