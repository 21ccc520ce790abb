package dev.edgellm.service.mqtt;

import io.moquette.broker.Server;
import io.moquette.broker.config.IConfig;
import io.moquette.broker.config.MemoryConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.jboss.logging.Logger;

/**
 * The MQTT broker the service starts for itself when no broker host is configured (Moquette, in
 * process), so {@code ./edgellm serve} works on a bare machine. Sessions, subscriptions, retained
 * and queued messages persist under its data directory; telemetry, metrics exporters and web
 * sockets are off. On a loopback address clients may connect without credentials; anywhere else
 * the service starts it only with a password file (Moquette's {@code user:sha256(password)} lines),
 * and then every client, the service included, logs in.
 */
public final class EmbeddedBroker implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EmbeddedBroker.class);

    private final Server server;
    private final String host;
    private final int port;

    private EmbeddedBroker(Server server, String host, int port) {
        this.server = server;
        this.host = host;
        this.port = port;
    }

    /**
     * Starts the broker.
     *
     * @param port           0 for any free port
     * @param maxMessageSize largest PUBLISH it accepts (bytes); a larger one disconnects its publisher
     * @param passwordFile   Moquette password file; empty: anonymous clients (loopback only)
     */
    public static EmbeddedBroker start(String host, int port, Path dataDir, int maxMessageSize, java.util.Optional<String> passwordFile)
            throws IOException {
        if (passwordFile.isEmpty() && !isLoopback(host)) {
            throw new IllegalArgumentException("the embedded MQTT broker allows anonymous clients only on a loopback address, not " + host
                    + "; set edgellm.mqtt.embedded.password-file");
        }
        if (passwordFile.isPresent() && !Files.isReadable(Path.of(passwordFile.get()))) {
            throw new IOException("edgellm.mqtt.embedded.password-file " + passwordFile.get() + " cannot be read");
        }
        Files.createDirectories(dataDir);
        Properties p = new Properties();
        p.setProperty(IConfig.HOST_PROPERTY_NAME, host);
        p.setProperty(IConfig.PORT_PROPERTY_NAME, Integer.toString(port));
        p.setProperty(IConfig.WEB_SOCKET_PORT_PROPERTY_NAME, "disabled");
        p.setProperty(IConfig.PERSISTENCE_ENABLED_PROPERTY_NAME, "true");
        p.setProperty(IConfig.DATA_PATH_PROPERTY_NAME, dataDir.toAbsolutePath().toString());
        p.setProperty(IConfig.ALLOW_ANONYMOUS_PROPERTY_NAME, Boolean.toString(passwordFile.isEmpty()));
        passwordFile.ifPresent(f -> p.setProperty(IConfig.PASSWORD_FILE_PROPERTY_NAME, Path.of(f).toAbsolutePath().toString()));
        // mosquitto_pub and mosquitto_sub connect with an empty client id
        p.setProperty("allow_zero_byte_client_id", "true");
        p.setProperty(IConfig.ENABLE_TELEMETRY_NAME, "false");
        p.setProperty(IConfig.NETTY_MAX_BYTES_PROPERTY_NAME, Integer.toString(maxMessageSize));
        p.setProperty("use_metrics", "false");
        p.setProperty("use_bugsnag", "false");
        // write each message out at once (its default batches flushes)
        p.setProperty("immediate_buffer_flush", "true");
        Server s = new Server();
        s.startServer(new MemoryConfig(p));
        int bound = boundPort(s);
        for (int i = 0; i < 100 && bound == 0; i++) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            bound = boundPort(s);
        }
        if (bound == 0) {
            s.stopServer();
            throw new IOException("the embedded MQTT broker could not listen on " + host + ":" + port + " (in use?)");
        }
        LOG.infof("embedded MQTT broker (Moquette) listening on %s:%d, data in %s", host, bound, dataDir);
        return new EmbeddedBroker(s, host, bound);
    }

    /** Whether {@code host} names only loopback addresses. */
    public static boolean isLoopback(String host) {
        return dev.edgellm.service.system.Addresses.isLoopback(host);
    }

    /** The address clients on this machine connect to. */
    public String connectHost() {
        return host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
    }

    public int port() {
        return port;
    }

    @Override
    public void close() {
        server.stopServer();
    }

    /**
     * The port Moquette listens on, 0 while it is still binding. Its {@code getPort} reads a plain
     * {@code HashMap} that the binding thread fills, and can throw
     * {@link java.util.ConcurrentModificationException} meanwhile (seen in CI): that also means
     * "not yet".
     */
    private static int boundPort(Server s) {
        try {
            return s.getPort();
        } catch (java.util.ConcurrentModificationException e) {
            return 0;
        }
    }
}
