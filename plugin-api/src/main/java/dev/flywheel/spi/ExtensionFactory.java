package dev.flywheel.spi;

import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import org.pf4j.ExtensionPoint;

/**
 * What every Flywheel extension point has in common: a stable id, a human name, and the schema of the
 * configuration it accepts.
 *
 * <p>Implementations are discovered by PF4J (annotate them with {@code @org.pf4j.Extension}) and are
 * built with their no-argument constructor, so they must not hold per-instance state: everything an
 * instance needs arrives through the {@code create} method of the concrete extension point.
 */
public interface ExtensionFactory extends ExtensionPoint {

    /**
     * The id users name in configuration, such as {@code "review-threshold"} or {@code "local"}. It must
     * be unique within its extension point, lower-case, and never change between plugin versions.
     */
    String type();

    /** A short human name for the UI; defaults to the {@link #type()}. */
    default String displayName() {
        return type();
    }

    /** One or two sentences telling a user what this extension does; shown in the UI and the API. */
    default String description() {
        return "";
    }

    /** The settings this extension accepts; the server rejects configuration that does not fit it. */
    default ConfigSchema configSchema() {
        return ConfigSchema.EMPTY;
    }

    /**
     * Checks rules across settings that the schema cannot express, such as one bound that must not exceed another,
     * once the schema has validated each setting. The server calls it when settings are saved (a violation is a 400
     * naming the fields) and before every {@code create}, so {@code create} can rely on it. The default accepts
     * everything.
     *
     * @param config settings that fit {@link #configSchema()}, defaults filled in
     * @throws ConfigValidationException naming each field that breaks a rule
     * @since SPI 0.2.0
     */
    default void validate(ExtensionConfig config) throws ConfigValidationException {}
}
