package dev.edgellm.service.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real mosquitto broker for tests: its own process on a free port of 127.0.0.1, with a generated
 * configuration in a temporary directory (no persistence, anonymous clients), stopped by
 * {@link #close()}. Debian's {@code mosquitto} package provides it (CI installs it, see .ci/run).
 */
public final class Mosquitto implements AutoCloseable {
    private final Process process;
    private final int port;
    private final int tlsPort;
    private final Path dir;

    private Mosquitto(Process process, int port, int tlsPort, Path dir) {
        this.process = process;
        this.port = port;
        this.tlsPort = tlsPort;
        this.dir = dir;
    }

    /** The mosquitto executable, or null when it is not installed. */
    public static Path binary() {
        for (String p : new String[] {"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto"}) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        return null;
    }

    /** Why mosquitto tests cannot run here, or null when they can. CI must have it: there its absence fails. */
    public static String unavailable() {
        if (binary() != null) {
            return null;
        }
        String why = "mosquitto is not installed (apt-get install mosquitto)";
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(why + ": CI installs it in .ci/run");
        }
        return why;
    }

    public static Mosquitto start() throws IOException, InterruptedException {
        return start(new String[0]);
    }

    /** Starts one that also logs these {@code log_type}s (e.g. {@code subscribe}, {@code unsubscribe}) to {@link #log()}. */
    public static Mosquitto start(String... logTypes) throws IOException, InterruptedException {
        return start(null, logTypes);
    }

    /**
     * Starts one with a second listener, {@link #tlsPort()}: TLS with {@code pki}'s server
     * certificate that requires a client certificate issued by {@code pki}'s CA. The plain
     * listener ({@link #port()}) stays, for the tests' own clients.
     */
    public static Mosquitto startMutualTls(TestPki pki) throws IOException, InterruptedException {
        return start(pki);
    }

    private static Mosquitto start(TestPki pki, String... logTypes) throws IOException, InterruptedException {
        Path bin = binary();
        if (bin == null) {
            throw new IOException("mosquitto is not installed (apt-get install mosquitto)");
        }
        int port = freePort();
        int tlsPort = pki == null ? -1 : freePort();
        Path dir = Files.createTempDirectory("mosquitto-test");
        Path conf = dir.resolve("mosquitto.conf");
        // user root: started as root (CI), mosquitto would drop to its own user, which cannot write the log in this directory
        String tls = pki == null ? "" : """
                listener %d 127.0.0.1
                cafile %s
                certfile %s
                keyfile %s
                require_certificate true
                """.formatted(tlsPort, pki.ca(), pki.serverCert(), pki.serverKey());
        Files.writeString(conf, """
                user root
                allow_anonymous true
                persistence false
                log_dest file %s
                log_type error
                log_type warning
                log_type notice
                listener %d 127.0.0.1
                """.formatted(dir.resolve("mosquitto.log"), port) + tls + java.util.Arrays.stream(logTypes).map(t -> "log_type " + t + "\n")
                .collect(java.util.stream.Collectors.joining()));
        Process p = new ProcessBuilder(bin.toString(), "-c", conf.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                break;
            } catch (IOException e) {
                if (!p.isAlive() || System.nanoTime() > end) {
                    p.destroyForcibly();
                    throw new IOException("mosquitto did not start on port " + port + ": " + Files.readString(dir.resolve("stdout.log")), e);
                }
                Thread.sleep(50);
            }
        }
        return new Mosquitto(p, port, tlsPort, dir);
    }

    public int port() {
        return port;
    }

    /** The TLS listener's port ({@link #startMutualTls}), -1 when there is none. */
    public int tlsPort() {
        return tlsPort;
    }

    /** What the broker logged so far. */
    public String log() throws IOException {
        Path f = dir.resolve("mosquitto.log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }
}
