package dev.edgellm.service.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away certificate authority for TLS tests, made with the {@code openssl} command (Debian
 * has it; CI must): a CA, a server certificate for 127.0.0.1 and localhost, and a client
 * certificate (PEM pair and PKCS#12 key store), all EC P-256 and valid for two days, in a
 * temporary directory.
 */
public final class TestPki {
    /** Password of {@link #clientKeyStore()}. */
    public static final String PASSWORD = "changeit";

    private final Path dir;

    private TestPki(Path dir) {
        this.dir = dir;
    }

    /** Why TLS tests cannot run here, or null when they can. In CI its absence fails. */
    public static String unavailable() {
        for (String p : new String[] {"/usr/bin/openssl", "/usr/local/bin/openssl"}) {
            if (Files.isExecutable(Path.of(p))) {
                return null;
            }
        }
        String why = "openssl is not installed (apt-get install openssl)";
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(why + ": CI needs it for the TLS tests");
        }
        return why;
    }

    public static TestPki create() throws IOException, InterruptedException {
        Path d = Files.createTempDirectory("edgellm-test-pki");
        TestPki p = new TestPki(d);
        String ec = "ec";
        p.openssl("req", "-x509", "-newkey", ec, "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "2", "-subj", "/CN=EdgeLLM test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        p.issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        p.issue("client", "/CN=edgellm-test-node", "extendedKeyUsage=clientAuth\n");
        p.openssl("pkcs12", "-export", "-in", "client.pem", "-inkey", "client.key", "-out", "client.p12", "-passout", "pass:" + PASSWORD);
        return p;
    }

    private void issue(String name, String subject, String extensions) throws IOException, InterruptedException {
        Files.writeString(dir.resolve(name + ".ext"), extensions);
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", subject);
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", name + ".pem",
                "-days", "2", "-extfile", name + ".ext");
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile())
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + Files.readString(dir.resolve("openssl.log")));
        }
    }

    public Path ca() {
        return dir.resolve("ca.pem");
    }

    public Path serverCert() {
        return dir.resolve("server.pem");
    }

    public Path serverKey() {
        return dir.resolve("server.key");
    }

    public Path clientCert() {
        return dir.resolve("client.pem");
    }

    public Path clientKey() {
        return dir.resolve("client.key");
    }

    /** The client certificate and key as a PKCS#12 key store ({@link #PASSWORD}). */
    public Path clientKeyStore() {
        return dir.resolve("client.p12");
    }
}
