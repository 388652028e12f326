package dev.flywheel.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The options of one benchmark command: {@code --name value} pairs and {@code --flag} switches, each benchmark
 * naming the ones it knows so that a typo is refused instead of silently running with a default.
 */
final class BenchArgs {

    private final Map<String, String> values;
    private final Set<String> switches;

    private BenchArgs(Map<String, String> values, Set<String> switches) {
        this.values = values;
        this.switches = switches;
    }

    /**
     * Parses {@code args} from index {@code from}.
     *
     * @param valued the options that take a value, e.g. {@code --measure}
     * @param switchNames the options that do not, e.g. {@code --quick}
     * @throws IllegalArgumentException on an unknown option, a missing value or a repeated option
     */
    static BenchArgs parse(String[] args, int from, Set<String> valued, Set<String> switchNames) {
        Map<String, String> values = new HashMap<>();
        Set<String> on = new java.util.HashSet<>();
        for (int i = from; i < args.length; i++) {
            String flag = args[i];
            if (switchNames.contains(flag)) {
                on.add(flag);
                continue;
            }
            if (!valued.contains(flag)) {
                throw new IllegalArgumentException("unknown option " + flag);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            if (values.put(flag, args[++i]) != null) {
                throw new IllegalArgumentException(flag + " is given twice");
            }
        }
        return new BenchArgs(values, on);
    }

    boolean has(String switchName) {
        return switches.contains(switchName);
    }

    String string(String flag, String fallback) {
        return values.getOrDefault(flag, fallback);
    }

    /** Whole seconds, 0 to 3600, with an optional {@code s}. */
    Duration seconds(String flag, Duration fallback) {
        String value = values.get(flag);
        if (value == null) {
            return fallback;
        }
        String v = value.endsWith("s") ? value.substring(0, value.length() - 1) : value;
        long s;
        try {
            s = Long.parseLong(v);
        } catch (NumberFormatException e) {
            s = -1;
        }
        if (s < 0 || s > 3600) {
            throw new IllegalArgumentException(flag + " is 0 to 3600 seconds, not " + value);
        }
        return Duration.ofSeconds(s);
    }

    /** A whole number in {@code [min, max]}. */
    int integer(String flag, int fallback, int min, int max) {
        String value = values.get(flag);
        return value == null ? fallback : checked(flag, value, min, max);
    }

    /** A comma-separated list of whole numbers, each in {@code [min, max]}. */
    List<Integer> integers(String flag, List<Integer> fallback, int min, int max) {
        String value = values.get(flag);
        if (value == null) {
            return fallback;
        }
        var list = new ArrayList<Integer>();
        for (String part : value.split(",")) {
            // "32x1000": the value 32, a thousand times (a deep model's layers).
            String[] repeat = part.trim().split("x", -1);
            int times = repeat.length == 2 ? checked(flag, repeat[1].trim(), 1, 100_000) : 1;
            int v = checked(flag, repeat[0].trim(), min, max);
            for (int i = 0; i < times; i++) {
                list.add(v);
            }
        }
        return List.copyOf(list);
    }

    /** A number in {@code [min, max]}. */
    double number(String flag, double fallback, double min, double max) {
        String value = values.get(flag);
        if (value == null) {
            return fallback;
        }
        double d;
        try {
            d = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            d = Double.NaN;
        }
        if (!(d >= min && d <= max)) {
            throw new IllegalArgumentException(flag + " is " + min + " to " + max + ", not " + value);
        }
        return d;
    }

    private static int checked(String flag, String value, int min, int max) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " takes whole numbers, not '" + value + "'");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(flag + " values are " + min + " to " + max + ", not " + n);
        }
        return n;
    }
}
