package dev.flywheel.server.config;

import dev.flywheel.server.http.ApiException;
import dev.flywheel.spi.config.ConfigSchema;
import java.time.Duration;

/** Durations given by users ({@code 30d}, {@code 5m}, {@code PT12H}). */
public final class Durations {

    private Durations() {}

    /** Parses a duration field of a request, answering 400 naming the field when it is not one. */
    public static Duration parse(String field, String text) {
        try {
            return ConfigSchema.parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_field", field + " " + e.getMessage());
        }
    }
}
