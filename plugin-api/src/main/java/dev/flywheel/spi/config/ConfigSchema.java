package dev.flywheel.spi.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The settings an extension accepts, in the order a form shows them. The server validates user
 * configuration with {@link #validate(Map)} before it ever reaches {@code create}, and the UI renders a form
 * from it, so an extension needs no UI code of its own.
 *
 * @param properties the settings, each with a unique name
 */
public record ConfigSchema(List<ConfigProperty> properties) {

    /** A schema with no settings. */
    public static final ConfigSchema EMPTY = new ConfigSchema(List.of());

    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    public ConfigSchema {
        properties = List.copyOf(properties);
        var seen = new java.util.HashSet<String>();
        for (var p : properties) {
            if (!seen.add(p.name())) {
                throw new IllegalArgumentException("duplicate setting '" + p.name() + "'");
            }
        }
    }

    /** A schema of the given settings. */
    public static ConfigSchema of(ConfigProperty... properties) {
        return new ConfigSchema(List.of(properties));
    }

    /** The setting of that name, if the schema has one. */
    public Optional<ConfigProperty> property(String name) {
        return properties.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /**
     * Checks a configuration against this schema and returns it normalised: defaults filled in, integers
     * as {@code Long}, numbers as {@code Double}, durations as their ISO-8601 text.
     *
     * @param raw the configuration as parsed from JSON; {@code null} means empty
     * @return the normalised configuration
     * @throws ConfigValidationException naming every field that is wrong
     */
    public ExtensionConfig validate(Map<String, ?> raw) throws ConfigValidationException {
        Map<String, ?> input = raw == null ? Map.of() : raw;
        var errors = new ArrayList<ConfigValidationException.FieldError>();
        var values = new LinkedHashMap<String, Object>();
        for (String key : input.keySet()) {
            if (property(key).isEmpty()) {
                errors.add(new ConfigValidationException.FieldError(key, "unknown setting; allowed: "
                        + properties.stream().map(ConfigProperty::name).toList()));
            }
        }
        for (ConfigProperty p : properties) {
            Object value = input.get(p.name());
            if (value == null) {
                value = p.defaultValue();
            }
            if (value == null) {
                if (p.required()) {
                    errors.add(new ConfigValidationException.FieldError(p.name(), "is required"));
                }
                continue;
            }
            try {
                values.put(p.name(), normalise(p, value));
            } catch (IllegalArgumentException e) {
                errors.add(new ConfigValidationException.FieldError(p.name(), e.getMessage()));
            }
        }
        if (!errors.isEmpty()) {
            throw new ConfigValidationException(errors);
        }
        return new ExtensionConfig(Collections.unmodifiableMap(values));
    }

    private static Object normalise(ConfigProperty p, Object value) {
        return switch (p.kind()) {
            case STRING, SECRET -> {
                if (!(value instanceof String s)) {
                    throw new IllegalArgumentException("must be a string");
                }
                yield s;
            }
            case INTEGER -> {
                long v;
                if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
                    v = n.longValue();
                } else if (value instanceof String s && s.matches("-?\\d+")) {
                    v = Long.parseLong(s);
                } else {
                    throw new IllegalArgumentException("must be a whole number");
                }
                checkRange(p, v);
                yield v;
            }
            case NUMBER -> {
                double v;
                if (value instanceof Number n) {
                    v = n.doubleValue();
                } else if (value instanceof String s) {
                    try {
                        v = Double.parseDouble(s);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("must be a number");
                    }
                } else {
                    throw new IllegalArgumentException("must be a number");
                }
                if (Double.isNaN(v) || Double.isInfinite(v)) {
                    throw new IllegalArgumentException("must be a finite number");
                }
                checkRange(p, v);
                yield v;
            }
            case BOOLEAN -> {
                if (value instanceof Boolean b) {
                    yield b;
                }
                if ("true".equals(value) || "false".equals(value)) {
                    yield Boolean.parseBoolean((String) value);
                }
                throw new IllegalArgumentException("must be true or false");
            }
            case ENUM -> {
                if (!(value instanceof String s) || !p.allowedValues().contains(s)) {
                    throw new IllegalArgumentException("must be one of " + p.allowedValues());
                }
                yield s;
            }
            case STRING_LIST -> {
                if (!(value instanceof List<?> list) || !list.stream().allMatch(String.class::isInstance)) {
                    throw new IllegalArgumentException("must be a list of strings");
                }
                yield List.copyOf(list);
            }
            case STRING_MAP -> {
                if (!(value instanceof Map<?, ?> map)
                        || !map.entrySet().stream().allMatch(e -> e.getKey() instanceof String
                                && e.getValue() instanceof String)) {
                    throw new IllegalArgumentException("must be an object of string values");
                }
                yield Collections.unmodifiableMap(new LinkedHashMap<>(map));
            }
            case DURATION -> {
                if (!(value instanceof String s)) {
                    throw new IllegalArgumentException("must be a duration such as \"5m\" or \"PT5M\"");
                }
                Duration d = parseDuration(s);
                if (d.isNegative()) {
                    throw new IllegalArgumentException("must not be negative");
                }
                yield d.toString();
            }
            case CRON -> {
                if (!(value instanceof String s) || s.trim().split("\\s+").length < 6
                        || s.trim().split("\\s+").length > 7) {
                    throw new IllegalArgumentException(
                            "must be a cron expression with seconds, such as \"0 0 3 ? * MON\"");
                }
                yield s.trim();
            }
        };
    }

    private static void checkRange(ConfigProperty p, double v) {
        if (p.minimum() != null && v < p.minimum()) {
            throw new IllegalArgumentException("must be at least " + formatBound(p.minimum()));
        }
        if (p.maximum() != null && v > p.maximum()) {
            throw new IllegalArgumentException("must be at most " + formatBound(p.maximum()));
        }
    }

    private static String formatBound(double bound) {
        return bound == Math.rint(bound) ? Long.toString((long) bound) : Double.toString(bound);
    }

    /**
     * Parses a duration in ISO-8601 ({@code PT5M}) or short form ({@code 500ms}, {@code 30s}, {@code 5m},
     * {@code 2h}, {@code 7d}).
     *
     * @throws IllegalArgumentException when the text is neither
     */
    public static Duration parseDuration(String text) {
        String s = text.trim();
        Matcher m = SHORT_DURATION.matcher(s);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        }
        try {
            return Duration.parse(s);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("must be a duration such as \"5m\" or \"PT5M\", not \"" + text + "\"");
        }
    }
}
