package dev.flywheel.spi.config;

import java.util.List;
import java.util.stream.Collectors;

/** Configuration that does not fit a {@link ConfigSchema}; it names every offending field. */
public class ConfigValidationException extends Exception {

    /**
     * One wrong field.
     *
     * @param field the setting's name
     * @param message what is wrong with it
     */
    public record FieldError(String field, String message) {}

    private final List<FieldError> errors;

    /** @param errors the wrong fields, at least one */
    public ConfigValidationException(List<FieldError> errors) {
        super(errors.stream().map(e -> e.field() + ": " + e.message()).collect(Collectors.joining("; ")));
        this.errors = List.copyOf(errors);
    }

    /** The wrong fields. */
    public List<FieldError> errors() {
        return errors;
    }
}
