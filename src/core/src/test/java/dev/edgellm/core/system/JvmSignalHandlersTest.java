package dev.edgellm.core.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The guard against native code taking the JVM's signal handlers: it sees the JVM's own handlers,
 * puts back one replaced the way a native library does (straight through the kernel, as a library's
 * {@code sigaction} does), and leaves signals the JVM does not handle alone.
 */
@SuppressWarnings("restricted") // the test plays the native library: a raw rt_sigaction downcall
class JvmSignalHandlersTest {
    static final int SIGXFSZ = 25; // the JVM's handler ignores it: safe to take away for a moment
    static final int SIGALRM = 14; // not the JVM's

    @BeforeAll
    static void linuxOnly() {
        assumeTrue(System.getProperty("os.name").equals("Linux") && List.of("amd64", "aarch64").contains(System.getProperty("os.arch")),
                "the guard works on Linux x86-64 and AArch64");
    }

    @Test
    void worksHereAndSeesTheJvmsHandlers() {
        assertTrue(JvmSignalHandlers.supported(), () -> "unsupported: " + JvmSignalHandlers.unsupportedReason().orElse(""));
        for (int sig : new int[] {11, 7, 8, 4, 25}) { // SEGV, BUS, FPE, ILL, XFSZ
            JvmSignalHandlers.Handler h = JvmSignalHandlers.current(sig).orElseThrow();
            assertTrue(h.jvm(), h.signalName() + " is handled by " + h.library());
        }
        assertEquals("SIGSEGV", JvmSignalHandlers.name(11));
    }

    @Test
    void aJvmHandlerReplacedByOtherCodeIsPutBackAndNamed() {
        JvmSignalHandlers.Snapshot before = JvmSignalHandlers.snapshot();
        try {
            ignore(SIGXFSZ); // what a native library's sigaction does to the JVM's handler
            assertFalse(JvmSignalHandlers.current(SIGXFSZ).orElseThrow().jvm());
            JvmSignalHandlers.Restored r = JvmSignalHandlers.restore(before);
            assertEquals(List.of("SIGXFSZ"), r.signals());
            assertEquals("SIG_IGN", r.replaced().getFirst().library());
            assertTrue(JvmSignalHandlers.current(SIGXFSZ).orElseThrow().jvm(), "the JVM's handler is back");
            assertFalse(JvmSignalHandlers.restore(before).any(), "nothing left to put back");
        } finally {
            JvmSignalHandlers.restore(before);
        }
    }

    @Test
    void guardPutsBackWhatTheCallTookAndReturnsItsResult() {
        String result = JvmSignalHandlers.guard("test call", () -> {
            ignore(SIGXFSZ);
            return "done";
        });
        assertEquals("done", result);
        assertTrue(JvmSignalHandlers.current(SIGXFSZ).orElseThrow().jvm());
    }

    @Test
    void aSignalTheJvmDoesNotHandleIsLeftAsTheCallSetIt() {
        assumeTrue("SIG_DFL".equals(JvmSignalHandlers.current(SIGALRM).orElseThrow().library()), "SIGALRM has its default here");
        JvmSignalHandlers.Snapshot before = JvmSignalHandlers.snapshot();
        try {
            ignore(SIGALRM);
            assertFalse(JvmSignalHandlers.restore(before).any());
            assertEquals("SIG_IGN", JvmSignalHandlers.current(SIGALRM).orElseThrow().library());
        } finally {
            setDefault(SIGALRM);
        }
    }

    /** Sets {@code sig} to SIG_IGN with the raw rt_sigaction system call. */
    static void ignore(int sig) {
        rawSigaction(sig, 1);
    }

    static void setDefault(int sig) {
        rawSigaction(sig, 0);
    }

    private static void rawSigaction(int sig, long handler) {
        long nr = System.getProperty("os.arch").equals("aarch64") ? 134 : 13;
        Linker linker = Linker.nativeLinker();
        MethodHandle syscall = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG), Linker.Option.firstVariadicArg(1));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment act = arena.allocate(64, 8);
            act.set(ValueLayout.JAVA_LONG, 0, handler);
            long rc = (long) syscall.invokeExact(nr, (long) sig, act, MemorySegment.NULL, 8L);
            assertEquals(0, rc);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }
}
