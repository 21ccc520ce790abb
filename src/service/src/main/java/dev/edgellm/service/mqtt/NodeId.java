package dev.edgellm.service.mqtt;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** This node's id: {@code edgellm.node-id}, else the host name, made fit for a topic level. */
public final class NodeId {
    private NodeId() {}

    public static String resolve(Optional<String> configured) {
        String raw = configured.map(String::strip).filter(s -> !s.isEmpty()).orElseGet(NodeId::hostName);
        String id = Topics.sanitizeLevel(raw);
        if (Topics.RESERVED.contains(id)) {
            throw new IllegalArgumentException("edgellm.node-id may not be '" + id + "': that level is not a node's (all: every node, "
                    + "pool: the work pool, replies: the reply prefix)");
        }
        return id;
    }

    static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            String f = Files.readString(Path.of("/etc/hostname")).strip();
            if (!f.isEmpty()) {
                return f;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: ask the resolver
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "edgellm";
        }
    }
}
