package dev.edgellm.service.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * One source for the JVM options: {@code src/service/src/main/jvm/jvm.options} is what
 * {@code ./edgellm} runs with (bar the documented {@code EDGELLM_GC_OPTS} override), what the
 * container image passes to {@code java} as an argument file, and what the packaged jar runs with
 * in the ITs; the k8s manifests add none of their own.
 */
class JvmOptionsTest {
    private static final Path PROJECT = Path.of(Optional.ofNullable(System.getenv("EDGELLM_PROJECT_DIR")).orElse("../.."));
    private static final Path FILE = PROJECT.resolve("src/service/src/main/jvm/jvm.options");
    private static final List<String> JVM_OPTION_VARIABLES = List.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "JAVA_OPTS", "_JAVA_OPTIONS");

    /** The options of the file, as java reads an argument file: whitespace-separated, '#' to the end of the line a comment. */
    static List<String> options() throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(FILE)) {
            int hash = line.indexOf('#');
            String l = hash >= 0 ? line.substring(0, hash) : line;
            Arrays.stream(l.trim().split("\\s+")).filter(s -> !s.isEmpty()).forEach(out::add);
        }
        return out;
    }

    @Test
    void theFileHasWhatTheEngineAndAnOutOfMemoryErrorNeed() throws IOException {
        List<String> o = options();
        assertTrue(o.containsAll(List.of("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-XX:+ExitOnOutOfMemoryError", "-XX:+UseSerialGC", "-Xmn3m", "-XX:TrimNativeHeapInterval=2000")), o.toString());
        // the Maven build's own flags for test JVMs are a subset
        String pom = Files.readString(PROJECT.resolve("pom.xml"));
        Matcher m = Pattern.compile("<edgellm.jvm.flags>([^<]*)</edgellm.jvm.flags>").matcher(pom);
        assertTrue(m.find());
        assertTrue(o.containsAll(Arrays.asList(m.group(1).trim().split("\\s+"))), "pom flags " + m.group(1) + " in jvm.options");
        assertTrue(Files.readString(PROJECT.resolve("src/service/pom.xml")).contains("<quarkus.test.arg-line>@${project.basedir}/src/main/jvm/jvm.options"),
                "the ITs start the packaged jar with the file");
    }

    @Test
    void theLauncherRunsWithTheFileAndEdgellmGcOptsReplacesOnlyTheGcLines() throws Exception {
        assertEquals(options(), launcher("jvm-options", Map.of()));
        List<String> parallel = launcher("jvm-options", Map.of("EDGELLM_GC_OPTS", "-XX:+UseParallelGC -Xmn64m"));
        List<String> expected = new ArrayList<>(options());
        expected.removeIf(s -> s.startsWith("-XX:+Use") && s.endsWith("GC") || s.startsWith("-Xmn") || s.startsWith("-XX:TrimNativeHeapInterval="));
        expected.addAll(List.of("-XX:+UseParallelGC", "-Xmn64m"));
        assertEquals(expected, parallel);
        assertTrue(parallel.contains("-XX:+ExitOnOutOfMemoryError"));
    }

    @Test
    void theImageRunsJavaWithTheFileAsAnArgumentFile() throws IOException {
        String docker = Files.readString(PROJECT.resolve("src/service/src/main/docker/Dockerfile.jvm"));
        assertTrue(docker.contains("COPY --chown=185:185 src/main/jvm/jvm.options /deployments/jvm.options"), "the image has the file");
        assertTrue(docker.contains("ENTRYPOINT [\"java\", \"@/deployments/jvm.options\", \"-jar\", \"/deployments/quarkus-run.jar\"]"), "and uses it");
        for (String v : JVM_OPTION_VARIABLES) {
            assertFalse(docker.contains(v), "Dockerfile.jvm sets " + v);
        }
    }

    @Test
    void theLauncherAndTheImageBothLimitGlibcToOneMallocArena() throws IOException {
        String launcher = Files.readString(PROJECT.resolve("edgellm"));
        assertTrue(launcher.contains("export MALLOC_ARENA_MAX=\"${MALLOC_ARENA_MAX:-1}\""), "./edgellm sets MALLOC_ARENA_MAX=1 unless given");
        String docker = Files.readString(PROJECT.resolve("src/service/src/main/docker/Dockerfile.jvm"));
        assertTrue(Pattern.compile("(?m)^\\s+MALLOC_ARENA_MAX=1 \\\\$").matcher(docker).find(), "Dockerfile.jvm sets MALLOC_ARENA_MAX=1");
    }

    /**
     * The JDK's libjsig is preloaded wherever the JVM runs with the OpenCL backend on its class path:
     * an OpenCL driver's LLVM otherwise takes the SIGSEGV the JVM needs at every safepoint
     * (JvmSignalHandlers). The test JVMs get it from the build (this one included), the packaged
     * jar of the ITs and the nodes they start inherit it.
     */
    @Test
    void theLauncherTheImageAndTheTestJvmsPreloadLibjsig() throws Exception {
        String jsig = Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString();
        assertEquals(List.of("MALLOC_ARENA_MAX=1", "LD_PRELOAD=" + jsig), launcher("jvm-env", Map.of()));
        assertEquals(List.of("MALLOC_ARENA_MAX=1", "LD_PRELOAD=" + jsig + " libc.so.6"), launcher("jvm-env", Map.of("LD_PRELOAD", "libc.so.6")),
                "what LD_PRELOAD had stays");
        assertEquals(List.of("MALLOC_ARENA_MAX=1", "LD_PRELOAD=" + jsig), launcher("jvm-env", Map.of("LD_PRELOAD", jsig)), "not twice");
        String docker = Files.readString(PROJECT.resolve("src/service/src/main/docker/Dockerfile.jvm"));
        assertTrue(Pattern.compile("(?m)^\\s+LD_PRELOAD=/opt/java/openjdk/lib/libjsig.so \\\\$").matcher(docker).find(), "Dockerfile.jvm preloads libjsig");
        String env = System.getenv("LD_PRELOAD");
        assertTrue(env != null && env.endsWith("/lib/libjsig.so") && Files.isRegularFile(Path.of(env)), "this test JVM runs with libjsig: " + env);
        assertTrue(Files.readString(PROJECT.resolve("src/service/pom.xml")).contains("<LD_PRELOAD>${edgellm.jsig}</LD_PRELOAD>"),
                "the ITs' JVM (and the packaged jar it starts) too");
    }

    @Test
    void theManifestsSetNoJvmOptionsOfTheirOwn() throws IOException {
        try (Stream<Path> s = Files.walk(PROJECT.resolve("k8s"))) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                String text = Files.readString(f);
                for (String v : JVM_OPTION_VARIABLES) {
                    assertFalse(text.contains(v), f + " sets " + v + ": JVM options come from the image's jvm.options");
                }
            }
        }
    }

    private static List<String> launcher(String mode, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", PROJECT.resolve("edgellm").toString(), mode).redirectErrorStream(true);
        pb.environment().remove("EDGELLM_GC_OPTS");
        pb.environment().remove("LD_PRELOAD");
        pb.environment().remove("MALLOC_ARENA_MAX");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out.lines().filter(l -> !l.isBlank()).toList();
    }
}
