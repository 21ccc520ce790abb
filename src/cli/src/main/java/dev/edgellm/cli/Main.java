package dev.edgellm.cli;

import dev.edgellm.core.backend.UnsupportedTensorException;
import dev.edgellm.core.gguf.GgufFormatException;
import dev.edgellm.core.model.ContextOverflowException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;

/**
 * The {@code edgellm} command. Every failure is one line on stderr and a non-zero exit: 2 for a bad
 * command line, 1 for everything else.
 */
public final class Main {
    private Main() {}

    static final String HELP = """
            usage: edgellm COMMAND [OPTIONS]

            commands:
              %s
              %s
              %s
              %s
              %s
              %s
              %s
              %s
              %s
              %s

            engine options (tokenize, generate, logits, bench, perplexity):
            %s""".formatted(InspectCommand.USAGE, TokenizeCommand.USAGE, GenerateCommand.USAGE.replace("\n", "\n  "),
            LogitsCommand.USAGE, BenchCommand.USAGE, FitCommand.USAGE, SystemCommand.USAGE, QuantizeCommand.USAGE.replace("\n", "\n  "),
            PerplexityCommand.USAGE.replace("\n", "\n  "), FleetCommand.USAGE.replace("\n", "\n  "), EngineOptions.HELP);

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        int code = run(args, out, System.err);
        out.flush();
        System.exit(code);
    }

    /** Runs a command; returns the exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            out.print(HELP);
            return args.length == 0 ? 2 : 0;
        }
        return guarded(err, () -> switch (args[0]) {
            case "inspect" -> InspectCommand.run(args, out);
            case "tokenize" -> TokenizeCommand.run(args, out);
            case "generate" -> GenerateCommand.run(args, out);
            case "logits" -> LogitsCommand.run(args, out);
            case "bench" -> BenchCommand.run(args, out, err);
            case "fit" -> FitCommand.run(args, out);
            case "system" -> SystemCommand.run(args, out);
            case "quantize" -> QuantizeCommand.run(args, out, err);
            case "perplexity" -> PerplexityCommand.run(args, out, err);
            case "fleet" -> FleetCommand.run(args, out, err, System.getenv());
            default -> throw new UsageException("unknown command '" + args[0]
                    + "' (commands: inspect, tokenize, generate, logits, bench, fit, system, quantize, perplexity, fleet)");
        });
    }

    /** A command's body that returns an exit code. */
    @FunctionalInterface
    interface Command {
        int run() throws Exception;
    }

    /** Runs {@code command}, turning every failure into one line on {@code err} and its exit code. */
    static int guarded(PrintStream err, Command command) {
        try {
            return command.run();
        } catch (UsageException e) {
            err.println("edgellm: " + e.getMessage() + " (see edgellm --help)");
            return 2;
        } catch (NoSuchFileException e) {
            err.println("edgellm: " + (e.getReason() != null ? e.getReason() : "file not found") + ": " + e.getFile());
            return 1;
        } catch (FileAlreadyExistsException e) {
            err.println("edgellm: " + e.getFile() + " " + (e.getReason() != null ? e.getReason() : "exists"));
            return 1;
        } catch (AccessDeniedException e) {
            err.println("edgellm: permission denied: " + e.getFile());
            return 1;
        } catch (GgufFormatException | UnsupportedTensorException e) {
            err.println("edgellm: bad model: " + e.getMessage());
            return 1;
        } catch (ContextOverflowException e) {
            err.println("edgellm: " + e.getMessage() + " (raise --ctx-size)");
            return 1;
        } catch (IOException e) {
            err.println("edgellm: I/O error: " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("edgellm: " + e.getMessage());
            return 1;
        } catch (Exception | OutOfMemoryError e) {
            err.println("edgellm: internal error: " + e);
            return 1;
        }
    }
}
