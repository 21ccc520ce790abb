package dev.edgellm.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options of one subcommand: {@code --name value}, {@code --name=value}, short aliases
 * and flags. Anything not declared is a {@link UsageException}.
 */
final class Args {
    private final String command;
    private final Map<String, String> values = new HashMap<>();
    private final List<String> positional = new ArrayList<>();

    /**
     * @param valued  options that take a value (long names with dashes; aliases map to them)
     * @param flags   options without a value
     * @param aliases short name to long name, e.g. "-m" to "--model"
     */
    Args(String command, String[] argv, int from, Set<String> valued, Set<String> flags, Map<String, String> aliases) {
        this.command = command;
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (a.startsWith("-") && a.length() > 1 && !isNumber(a)) {
                String name = a;
                String inline = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    name = a.substring(0, eq);
                    inline = a.substring(eq + 1);
                }
                name = aliases.getOrDefault(name, name);
                if (flags.contains(name)) {
                    if (inline != null) {
                        throw new UsageException(command + ": option " + name + " takes no value");
                    }
                    values.put(name, "true");
                } else if (valued.contains(name)) {
                    String v = inline;
                    if (v == null) {
                        if (i + 1 >= argv.length) {
                            throw new UsageException(command + ": option " + name + " needs a value");
                        }
                        v = argv[++i];
                    }
                    values.put(name, v);
                } else {
                    throw new UsageException(command + ": unknown option " + a);
                }
            } else {
                positional.add(a);
            }
        }
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    String get(String name) {
        return values.get(name);
    }

    String required(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException(command + ": missing required option " + name);
        }
        return v;
    }

    String get(String name, String def) {
        return values.getOrDefault(name, def);
    }

    int getInt(String name, int def) {
        String v = values.get(name);
        if (v == null) {
            return def;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": option " + name + " needs an integer, got '" + v + "'");
        }
    }

    long getLong(String name, long def) {
        String v = values.get(name);
        if (v == null) {
            return def;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": option " + name + " needs an integer, got '" + v + "'");
        }
    }

    float getFloat(String name, float def) {
        String v = values.get(name);
        if (v == null) {
            return def;
        }
        try {
            float f = Float.parseFloat(v);
            if (!Float.isFinite(f)) {
                throw new NumberFormatException();
            }
            return f;
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": option " + name + " needs a number, got '" + v + "'");
        }
    }

    List<String> positional() {
        return positional;
    }

    /** Exactly {@code n} positional arguments, else a usage error naming what is expected. */
    List<String> positional(int n, String what) {
        if (positional.size() != n) {
            throw new UsageException(command + ": expected " + what + (positional.isEmpty() ? "" : ", got " + positional));
        }
        return positional;
    }
}
