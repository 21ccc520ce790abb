package dev.edgellm.service.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The packaged service (target/quarkus-app), started as ./edgellm serve runs it: java @jvm.options -jar, plus settings. */
public final class PackagedApp implements AutoCloseable {
    private final Process process;
    private final Path log;

    private PackagedApp(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Starts the jar with {@code jvmExtra} JVM options and {@code -D} settings; output to {@code target/<name>.log}. */
    public static PackagedApp start(String name, List<String> jvmExtra, List<String> settings) throws IOException {
        Path jar = Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is built by the package phase");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + Path.of("src/main/jvm/jvm.options").toAbsolutePath()));
        cmd.addAll(jvmExtra);
        cmd.addAll(settings);
        cmd.add("-jar");
        cmd.add(jar.toString());
        Path log = Path.of("target", name + ".log").toAbsolutePath();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new PackagedApp(p, log);
    }

    public Process process() {
        return process;
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    /** Waits for the log to contain {@code text} (or the process to end); true when it does. */
    public boolean awaitLog(String text, long seconds) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            if (Files.exists(log) && log().contains(text)) {
                return true;
            }
            if (!process.isAlive()) {
                return Files.exists(log) && log().contains(text);
            }
            Thread.sleep(100);
        }
        return false;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
