package dev.flywheel.spi.config;

import java.util.List;
import java.util.Objects;

/**
 * One setting an extension accepts.
 *
 * @param name the key in the configuration map, in snake_case
 * @param kind the type, deciding validation and the form field
 * @param required whether a value must be given when there is no default
 * @param defaultValue the value used when none is given, in its JSON form ({@code String}, {@code Long},
 *     {@code Double}, {@code Boolean}, {@code List<String>} or {@code Map<String,String>}); {@code null} for
 *     none
 * @param description what the setting does, shown next to the form field
 * @param allowedValues for {@link ConfigKind#ENUM} the permitted values; empty otherwise
 * @param minimum for numbers the smallest permitted value, or {@code null}
 * @param maximum for numbers the largest permitted value, or {@code null}
 */
public record ConfigProperty(
        String name,
        ConfigKind kind,
        boolean required,
        Object defaultValue,
        String description,
        List<String> allowedValues,
        Double minimum,
        Double maximum) {

    public ConfigProperty {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        description = description == null ? "" : description;
        allowedValues = allowedValues == null ? List.of() : List.copyOf(allowedValues);
        if (kind == ConfigKind.ENUM && allowedValues.isEmpty()) {
            throw new IllegalArgumentException("ENUM setting '" + name + "' needs allowed values");
        }
    }

    /** Starts describing a setting; see {@link Builder}. */
    public static Builder builder(String name, ConfigKind kind) {
        return new Builder(name, kind);
    }

    /** Builds a {@link ConfigProperty} fluently. */
    public static final class Builder {
        private final String name;
        private final ConfigKind kind;
        private boolean required;
        private Object defaultValue;
        private String description = "";
        private List<String> allowedValues = List.of();
        private Double minimum;
        private Double maximum;

        private Builder(String name, ConfigKind kind) {
            this.name = name;
            this.kind = kind;
        }

        /** Marks the setting as required (only meaningful without a default). */
        public Builder required() {
            this.required = true;
            return this;
        }

        /** Sets the default, in its JSON form. */
        public Builder defaultValue(Object value) {
            this.defaultValue = value;
            return this;
        }

        /** Sets the help text. */
        public Builder description(String text) {
            this.description = text;
            return this;
        }

        /** Sets the permitted values of an {@link ConfigKind#ENUM}. */
        public Builder allowedValues(String... values) {
            this.allowedValues = List.of(values);
            return this;
        }

        /** Sets the inclusive lower bound of a number. */
        public Builder minimum(double value) {
            this.minimum = value;
            return this;
        }

        /** Sets the inclusive upper bound of a number. */
        public Builder maximum(double value) {
            this.maximum = value;
            return this;
        }

        /** Returns the described setting. */
        public ConfigProperty build() {
            return new ConfigProperty(name, kind, required, defaultValue, description, allowedValues, minimum, maximum);
        }
    }
}
