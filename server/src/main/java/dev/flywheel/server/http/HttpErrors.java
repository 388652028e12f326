package dev.flywheel.server.http;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.persistence.DatabaseAvailability;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns every failure into the API's JSON error: {@link ApiException}s with their status, Javalin's own
 * (404, 405, 413 …) with theirs, a database that cannot be reached into a 503 with {@code Retry-After}, and anything
 * unexpected into a logged 500 that does not leak internals.
 */
public final class HttpErrors {

    private static final Logger LOG = LoggerFactory.getLogger(HttpErrors.class);
    private HttpErrors() {}

    /**
     * Registers the exception mappers.
     *
     * @param database told of failures that mean the database cannot be reached
     */
    public static void register(RoutesConfig routes, DatabaseAvailability database) {
        routes.exception(ApiException.class, (e, ctx) -> respond(ctx, e.status(), e.code(), e.getMessage(), e.details()));
        routes.exception(HttpResponseException.class, (e, ctx) -> {
            int status = e.getStatus();
            String message = e.getMessage();
            if (status == 404 && (message == null || message.isBlank() || message.equals("Not Found")
                    || message.startsWith("Endpoint"))) {
                message = "no route " + ctx.method().name() + " " + ctx.path() + "; see /openapi.json";
            }
            if (status == 413) {
                message = "the request body is larger than the limit";
            }
            respond(ctx, status, codeFor(status), message, Map.of());
        });
        routes.exception(Exception.class, (e, ctx) -> unexpected(e, ctx, database));
        routes.error(404, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty() || !ctx.result().startsWith("{")) {
                respond(ctx, 404, "not_found", "no route " + ctx.method().name() + " " + ctx.path()
                        + "; see /openapi.json", Map.of());
            }
        });
    }

    private static void unexpected(Exception e, Context ctx, DatabaseAvailability database) {
        if (database.report(e)) {
            LOG.warn("{} {} failed: the database cannot be reached: {}", ctx.method(), ctx.path(), e.toString());
            respond(ctx, 503, "database_unavailable", DATABASE_UNAVAILABLE, Map.of());
            return;
        }
        if (DatabaseAvailability.isPoolExhausted(e)) {
            LOG.warn("{} {} failed: no database connection was free in time: {}", ctx.method(), ctx.path(), e.toString());
            respond(ctx, 503, "server_busy", "the server is too busy to answer now; retry shortly", Map.of());
            return;
        }
        LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
        respond(ctx, 500, "internal_error", "the server failed to handle this request; the cause is in its log",
                Map.of());
    }

    private static final String DATABASE_UNAVAILABLE = "the database cannot be reached; nothing was changed. Retry "
            + "shortly";

    /**
     * Refuses every API request at once while the database cannot be reached, instead of letting each wait for a
     * connection that will not come. Public routes ({@code /health}, {@code /metrics}, {@code /openapi.json}) still
     * answer; {@code /health} says the database is down.
     */
    public static void checkDatabase(RouteSpec spec, DatabaseAvailability database) {
        if (spec != null && spec.access() != Access.PUBLIC && !database.isUp()) {
            throw new ApiException(503, "database_unavailable", DATABASE_UNAVAILABLE);
        }
    }

    /**
     * How much of a refused body is read and thrown away so that a client still sending it sees the 413 rather than a
     * reset connection (Tomcat's "swallow" does the same); larger bodies are cut off.
     */
    private static final long SWALLOW_BYTES = 2L * 1024 * 1024;

    /** Refuses a body larger than the route's limit before anything stores it. */
    public static void checkContentLength(Context ctx, RouteSpec spec, long defaultLimit) {
        long limit = spec != null && spec.maxBodyBytes() > 0 ? spec.maxBodyBytes() : defaultLimit;
        long length = ctx.req().getContentLengthLong();
        if (length > limit) {
            if (length <= SWALLOW_BYTES) {
                try {
                    ctx.req().getInputStream().skipNBytes(length);
                } catch (java.io.IOException | RuntimeException e) {
                    // the client went away; the 413 is all that is left to say
                }
            } else {
                ctx.header("Connection", "close");
            }
            throw ApiException.tooLarge(limit);
        }
    }

    private static void respond(Context ctx, int status, String code, String message, Map<String, Object> details) {
        if (status == 503) {
            // Every 503 is temporary: an outage, a backlog, a stop.
            ctx.header("Retry-After", code.equals("database_unavailable") ? "5" : "1");
        }
        ctx.status(status).json(new ErrorBody(code, message, details));
    }

    private static String codeFor(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 409 -> "conflict";
            case 413 -> "payload_too_large";
            case 415 -> "unsupported_media_type";
            default -> "http_" + status;
        };
    }

}
