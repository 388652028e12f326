package dev.flywheel.spi.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A configuration that has passed {@link ConfigSchema#validate(Map)}: defaults are filled in and values
 * have their normalised types, so the typed getters below cannot fail on a setting the schema declares.
 */
public final class ExtensionConfig {

    /** An empty configuration. */
    public static final ExtensionConfig EMPTY = new ExtensionConfig(Map.of());

    private final Map<String, Object> values;

    ExtensionConfig(Map<String, Object> values) {
        this.values = values;
    }

    /** The normalised values, as they would be stored and shown. */
    public Map<String, Object> asMap() {
        return values;
    }

    /** Whether a value (given or defaulted) is present. */
    public boolean has(String name) {
        return values.containsKey(name);
    }

    /** A string, secret, enum or cron setting. */
    public Optional<String> string(String name) {
        return Optional.ofNullable((String) values.get(name));
    }

    /** An integer setting. */
    public Optional<Long> integer(String name) {
        return Optional.ofNullable((Long) values.get(name));
    }

    /** A number setting. */
    public Optional<Double> number(String name) {
        return Optional.ofNullable((Double) values.get(name));
    }

    /** A boolean setting. */
    public Optional<Boolean> bool(String name) {
        return Optional.ofNullable((Boolean) values.get(name));
    }

    /** A duration setting. */
    public Optional<Duration> duration(String name) {
        return string(name).map(Duration::parse);
    }

    /** A list-of-strings setting; empty when absent. */
    @SuppressWarnings("unchecked")
    public List<String> stringList(String name) {
        return (List<String>) values.getOrDefault(name, List.of());
    }

    /** A map setting; empty when absent. */
    @SuppressWarnings("unchecked")
    public Map<String, String> stringMap(String name) {
        return (Map<String, String>) values.getOrDefault(name, Map.of());
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
