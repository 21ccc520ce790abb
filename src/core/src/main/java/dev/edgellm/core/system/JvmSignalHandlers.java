package dev.edgellm.core.system;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Keeps the JVM's signal handlers in place while native code initializes.
 *
 * <p>HotSpot stops threads for a safepoint by making a polling page unreadable: compiled loops read
 * it, take a SIGSEGV, and the JVM's handler parks the thread. A native library that installs its own
 * SIGSEGV handler takes that signal away. pocl's LLVM (the OpenCL CPU driver, and LLVM-based GPU
 * drivers alike) replaces the handlers of SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGUSR2 and
 * more when the OpenCL platform starts, with {@code SA_RESETHAND}: the next safepoint poll runs
 * LLVM's handler, which the kernel has already reset to the default, and a second thread polling at
 * that moment kills the process (exit 139, no hs_err file; measured here on the packaged service
 * with the OpenCL backend only probed, while the scalar backend generated on two threads).
 *
 * <p>{@link #guard} snapshots the kernel's dispositions (the raw {@code rt_sigaction} system call,
 * so an interposed {@code sigaction}, e.g. the JDK's {@code libjsig}, cannot hide them) before a
 * call into native code and, after it, puts back every handler that belonged to the JVM and now
 * belongs to another library, naming that library. With {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so}
 * (set by {@code ./edgellm}, the container image and the build's test JVMs) the handlers the JVM
 * installs at startup (SIGSEGV, SIGBUS, SIGFPE, SIGILL, ...) are never replaced in the first place
 * and the other library's handler is chained behind them; the ones it installs later (SIGHUP,
 * SIGINT, SIGTERM for its shutdown hooks) and SIGUSR2 pocl's LLVM still takes, and the guard puts
 * them back, as it puts back everything in a JVM started without libjsig. It does nothing where
 * the system call is not known (other operating systems and CPUs) and in a native image (which
 * does not use signals for safepoints).
 */
@SuppressWarnings("restricted") // downcalls to syscall and dladdr: the JVM runs with --enable-native-access (jvm.options)
public final class JvmSignalHandlers {
    private static final Logger LOG = Logger.getLogger(JvmSignalHandlers.class.getName());

    /** Signals 1-31 but SIGKILL (9) and SIGSTOP (19), which have no handlers. */
    private static final int[] SIGNALS = java.util.stream.IntStream.rangeClosed(1, 31).filter(s -> s != 9 && s != 19).toArray();
    private static final String[] NAMES = {"", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
            "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
            "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};
    /** The faults the JVM lives on (safepoint polls, implicit null and division checks): libjsig keeps these. */
    private static final Set<String> FAULTS = Set.of("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL");
    /** The kernel's struct sigaction: 32 bytes on x86-64 (handler, flags, restorer, mask), fewer elsewhere; room to spare. */
    private static final long KSIGACTION_BYTES = 64;
    /** The kernel's signal set: 64 signals. */
    private static final long SIGSET_BYTES = 8;

    /** The C functions, or null where the guard does not work ({@link #UNSUPPORTED} says why). */
    private static final Native NATIVE;
    private static final String UNSUPPORTED;

    static {
        Native n = null;
        String why;
        try {
            why = Native.unsupported();
            if (why == null) {
                n = Native.load();
            }
        } catch (Throwable e) { // IllegalCallerException without native access, a missing symbol, ...
            why = e.toString();
        }
        NATIVE = n;
        UNSUPPORTED = why;
    }

    private JvmSignalHandlers() {}

    /** What one signal's handler is: its address and the library that holds it. */
    public record Handler(int signal, long address, String library) {
        /** Whether the handler is the JVM's own (in libjvm). */
        public boolean jvm() {
            return library != null && (library.endsWith("/libjvm.so") || library.equals("libjvm.so"));
        }

        public String signalName() {
            return name(signal);
        }
    }

    /** The kernel's dispositions of every signal at one moment. */
    public static final class Snapshot {
        private final byte[][] raw;

        private Snapshot(byte[][] raw) {
            this.raw = raw;
        }
    }

    /** What {@link #restore} found and did: the handlers that had replaced the JVM's, all put back. */
    public record Restored(List<Handler> replaced) {
        public boolean any() {
            return !replaced.isEmpty();
        }

        /** The libraries whose handlers replaced the JVM's. */
        public Set<String> libraries() {
            Set<String> out = new LinkedHashSet<>();
            replaced.forEach(h -> out.add(h.library() == null ? "an unknown library" : h.library()));
            return out;
        }

        /** The signals taken, by name. */
        public List<String> signals() {
            return replaced.stream().map(Handler::signalName).toList();
        }
    }

    /** Whether the guard works here (Linux on x86-64 or AArch64, on a JVM, with native access). */
    public static boolean supported() {
        return NATIVE != null;
    }

    /** Why the guard does nothing here, or empty when it works. */
    public static Optional<String> unsupportedReason() {
        return Optional.ofNullable(UNSUPPORTED);
    }

    /** The kernel's dispositions now, or null where the guard does not work. */
    public static Snapshot snapshot() {
        if (NATIVE == null) {
            return null;
        }
        byte[][] raw = new byte[32][];
        for (int sig : SIGNALS) {
            raw[sig] = NATIVE.disposition(sig);
        }
        return new Snapshot(raw);
    }

    /** The handler of {@code signal} now, or empty where the guard does not work. */
    public static Optional<Handler> current(int signal) {
        return NATIVE == null ? Optional.empty() : Optional.of(handler(signal, NATIVE.disposition(signal)));
    }

    /**
     * Puts back every handler that was the JVM's in {@code before} and is now another library's.
     * A change to another JVM handler (the JVM installing its own, e.g. for {@code sun.misc.Signal})
     * and handlers of signals the JVM did not handle are left alone.
     */
    public static Restored restore(Snapshot before) {
        if (NATIVE == null || before == null) {
            return new Restored(List.of());
        }
        Snapshot now = snapshot();
        List<Handler> replaced = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            for (int sig : SIGNALS) {
                if (Arrays.equals(before.raw[sig], now.raw[sig])) {
                    continue;
                }
                Handler was = handler(sig, before.raw[sig]);
                Handler is = handler(sig, now.raw[sig]);
                if (was.jvm() && !is.jvm()) {
                    NATIVE.sigaction(sig, arena.allocateFrom(ValueLayout.JAVA_BYTE, before.raw[sig]), MemorySegment.NULL);
                    replaced.add(is);
                }
            }
        }
        return new Restored(List.copyOf(replaced));
    }

    /**
     * Runs {@code call} (a call that may start native code: a backend's probe, its creation) and
     * puts back the JVM's handlers it replaced, logging a warning that names {@code what}, the
     * library and the signals.
     */
    public static <T> T guard(String what, Supplier<T> call) {
        Snapshot before = snapshot();
        try {
            return call.get();
        } finally {
            Restored r = restore(before);
            if (r.any()) {
                String took = what + ": native code (" + String.join(", ", r.libraries()) + ") replaced the JVM's handlers of "
                        + String.join(", ", r.signals()) + "; put back";
                if (r.signals().stream().anyMatch(FAULTS::contains)) {
                    LOG.warning(() -> took + " (the JVM takes a SIGSEGV at every safepoint: without its handler the process dies at "
                            + "one). LD_PRELOAD=$JAVA_HOME/lib/libjsig.so keeps them from the start, as ./edgellm and the container "
                            + "image set it");
                } else {
                    LOG.info(took);
                }
            }
        }
    }

    /** The name of a signal number (SIGSEGV for 11). */
    public static String name(int signal) {
        return signal > 0 && signal < NAMES.length ? NAMES[signal] : "signal " + signal;
    }

    private static Handler handler(int signal, byte[] raw) {
        long address = MemorySegment.ofArray(raw).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        return new Handler(signal, address, address == 0 ? "SIG_DFL" : address == 1 ? "SIG_IGN" : NATIVE.library(address));
    }

    /** The two C functions the guard calls: syscall(SYS_rt_sigaction, ...) and dladdr. */
    private record Native(long sysRtSigaction, MethodHandle syscall, MethodHandle dladdr) {
        /** Why the guard cannot work here, or null when it can. */
        static String unsupported() {
            if (System.getProperty("org.graalvm.nativeimage.imagecode") != null) {
                return "a native image (no signal-based safepoints)";
            }
            if (!System.getProperty("os.name", "").equals("Linux")) {
                return "not Linux";
            }
            return rtSigactionNumber() < 0 ? "no rt_sigaction number known for " + System.getProperty("os.arch") : null;
        }

        private static long rtSigactionNumber() {
            return switch (System.getProperty("os.arch", "")) {
                case "amd64", "x86_64" -> 13;
                case "aarch64" -> 134;
                default -> -1;
            };
        }

        static Native load() {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle syscall = linker.downcallHandle(libc.find("syscall").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
                    Linker.Option.firstVariadicArg(1));
            MethodHandle dladdr = libc.find("dladdr").map(a -> linker.downcallHandle(a,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS))).orElse(null);
            Native n = new Native(rtSigactionNumber(), syscall, dladdr);
            n.disposition(11); // fails here rather than later
            return n;
        }

        /** The kernel's struct sigaction of {@code signal}, as bytes. */
        byte[] disposition(int signal) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(KSIGACTION_BYTES, 8);
                sigaction(signal, MemorySegment.NULL, buf);
                return buf.toArray(ValueLayout.JAVA_BYTE);
            }
        }

        void sigaction(int signal, MemorySegment act, MemorySegment oldAct) {
            long rc;
            try {
                rc = (long) syscall.invokeExact(sysRtSigaction, (long) signal, act, oldAct, SIGSET_BYTES);
            } catch (Throwable e) {
                throw new IllegalStateException("rt_sigaction(" + name(signal) + ")", e);
            }
            if (rc != 0) {
                throw new IllegalStateException("rt_sigaction(" + name(signal) + ") returned " + rc);
            }
        }

        /** The file of the shared object that holds {@code address}, or null when dladdr cannot tell. */
        String library(long address) {
            if (dladdr == null) {
                return null;
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment info = arena.allocate(32, 8); // Dl_info: dli_fname, dli_fbase, dli_sname, dli_saddr
                int ok = (int) dladdr.invokeExact(MemorySegment.ofAddress(address), info);
                if (ok == 0) {
                    return null;
                }
                MemorySegment name = info.get(ValueLayout.ADDRESS, 0);
                return name.equals(MemorySegment.NULL) ? null : name.reinterpret(4096).getString(0);
            } catch (Throwable e) {
                return null;
            }
        }
    }
}
