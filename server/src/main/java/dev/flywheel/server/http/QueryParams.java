package dev.flywheel.server.http;

import io.javalin.http.Context;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/** Typed query parameters, each wrong value a 400 that names the parameter. */
public final class QueryParams {

    private QueryParams() {}

    /** An ISO-8601 time, or {@code null} when the parameter is absent. */
    public static Instant instant(Context ctx, String name) {
        String s = ctx.queryParam(name);
        if (s == null) {
            return null;
        }
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw ApiException.badRequest("invalid_parameter", name + " must be an ISO-8601 time such as 2026-01-31T12:00:00Z");
        }
    }

    /** A whole number, or {@code null} when the parameter is absent. */
    public static Long wholeNumber(Context ctx, String name) {
        String s = ctx.queryParam(name);
        if (s == null) {
            return null;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("invalid_parameter", name + " must be a whole number");
        }
    }
}
