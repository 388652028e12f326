package dev.flywheel.server.http;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.persistence.DatabaseAvailability;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns every failure into the API's JSON error: {@link ApiException}s with their status, Javalin's own
 * (404, 405, 413 …) with theirs, a body that cannot be read (bad chunked encoding, cut short) into a 400, a database
 * that cannot be reached into a 503 with {@code Retry-After}, and anything unexpected into a logged 500 that does not
 * leak internals. {@link #install} does the same for the errors Jetty answers before a request reaches a route.
 */
public final class HttpErrors {

    private static final Logger LOG = LoggerFactory.getLogger(HttpErrors.class);

    /** The body limit of the matched route, for readers of streamed bodies (see {@link #bodyLimit}). */
    private static final String BODY_LIMIT = "flywheel.body-limit";

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

    /** Makes Jetty answer its own errors (bad URIs, 414, 431, …) as the API's JSON. */
    public static void install(Server server) {
        server.setErrorHandler(new ProtocolErrors());
    }

    private static void unexpected(Exception e, Context ctx, DatabaseAvailability database) {
        HttpException framing = cause(e, HttpException.class);
        if (framing != null && framing.getCode() >= 400 && framing.getCode() < 500) {
            // Jetty could not read the request itself: a bad chunk size, a body cut short, a malformed multipart.
            LOG.debug("{} {}: unreadable request: {}", ctx.method(), ctx.path(), e.toString());
            respond(ctx, framing.getCode(), "invalid_body", "the request body could not be read: it is malformed or "
                    + "ended early (check its Content-Length or chunked encoding)", Map.of());
            return;
        }
        if (cause(e, EofException.class) != null) {
            // The client went away while sending; nobody is left to read an answer.
            LOG.debug("{} {}: the client closed the connection: {}", ctx.method(), ctx.path(), e.toString());
            respond(ctx, 400, "invalid_body", "the request body ended early", Map.of());
            return;
        }
        String refused = refusedText(e);
        if (refused != null) {
            // The database refused a value the request carried; nothing was stored.
            LOG.debug("{} {}: the database refused a value: {}", ctx.method(), ctx.path(), e.toString());
            respond(ctx, 400, "invalid_text", refused, Map.of());
            return;
        }
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
     * Refuses a body in a charset that cannot be decoded (415): an unknown one such as {@code ebcdic}, or for JSON
     * anything but UTF-8, the only encoding JSON is exchanged in (RFC 8259).
     */
    public static void checkCharset(Context ctx) {
        String header = ctx.header("Content-Type");
        if (header == null) {
            return;
        }
        String[] parts = header.split(";");
        String type = parts.length == 0 ? "" : parts[0].trim().toLowerCase(Locale.ROOT);
        for (int i = 1; i < parts.length; i++) {
            String param = parts[i].trim();
            int eq = param.indexOf('=');
            // "charset" without a value too: Javalin fails on it when it decodes the body.
            if (!(eq < 0 ? param : param.substring(0, eq)).trim().equalsIgnoreCase("charset")) {
                continue;
            }
            String name = eq < 0 ? "" : param.substring(eq + 1).trim().replace("\"", "");
            Charset charset = null;
            try {
                charset = Charset.isSupported(name) ? Charset.forName(name) : null;
            } catch (IllegalArgumentException e) {
                // an illegal charset name: refused below like an unknown one
            }
            boolean json = type.equals("application/json") || type.endsWith("+json");
            if (charset == null || json && !charset.equals(StandardCharsets.UTF_8)
                    && !charset.equals(StandardCharsets.US_ASCII)) {
                throw new ApiException(415, "unsupported_charset", "the body's charset '" + abbreviate(name)
                        + "' is not supported; send " + (json ? "JSON in UTF-8" : "UTF-8") + " (or no charset)");
            }
        }
    }

    /**
     * Refuses a NUL character in a path or query parameter (400): PostgreSQL cannot take one in text, H2 can, and a
     * request means the same on both.
     */
    public static void checkParameters(Context ctx) {
        boolean nul = ctx.pathParamMap().values().stream().anyMatch(v -> v.indexOf('\0') >= 0)
                || ctx.queryParamMap().entrySet().stream().anyMatch(e -> e.getKey().indexOf('\0') >= 0
                        || e.getValue().stream().anyMatch(v -> v.indexOf('\0') >= 0));
        if (nul) {
            throw ApiException.badRequest("invalid_parameter", "a path or query parameter holds the NUL character "
                    + "(%00), which no parameter accepts");
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }

    /**
     * How much of a refused body is read and thrown away so that a client still sending it sees the 413 rather than a
     * reset connection (Tomcat's "swallow" does the same); larger bodies are cut off.
     */
    private static final long SWALLOW_BYTES = 2L * 1024 * 1024;

    /** Refuses a body larger than the route's limit before anything stores it. */
    public static void checkContentLength(Context ctx, RouteSpec spec, long defaultLimit) {
        long limit = spec != null && spec.maxBodyBytes() > 0 ? spec.maxBodyBytes() : defaultLimit;
        ctx.attribute(BODY_LIMIT, limit);
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

    /** The largest body the matched route accepts, also when it is streamed without a Content-Length. */
    static long bodyLimit(Context ctx) {
        Long limit = ctx.attribute(BODY_LIMIT);
        return limit == null ? Long.MAX_VALUE : limit;
    }

    private static void respond(Context ctx, int status, String code, String message, Map<String, Object> details) {
        if (status == 503) {
            // Every 503 is temporary: an outage, a backlog, a stop.
            ctx.header("Retry-After", code.equals("database_unavailable") ? "5" : "1");
        }
        ctx.status(status).json(new ErrorBody(code, message, details));
    }

    /**
     * What to tell the client when the database refused text that came with the request: a NUL character, which
     * PostgreSQL cannot store in text (SQLSTATE 22021), or a value longer than its column (22001). {@code null} for
     * any other failure.
     */
    private static String refusedText(Throwable e) {
        java.sql.SQLException sql = cause(e, java.sql.SQLException.class);
        String state = sql == null ? null : sql.getSQLState();
        if ("22021".equals(state) || "22P05".equals(state)) {
            return "the request holds a character that cannot be stored (such as NUL, \\u0000, or %00 in the URI)";
        }
        if ("22001".equals(state)) {
            return "a value in the request is longer than can be stored";
        }
        return null;
    }

    private static <T> T cause(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    static String codeFor(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 409 -> "conflict";
            case 413 -> "payload_too_large";
            case 414 -> "uri_too_long";
            case 415 -> "unsupported_media_type";
            case 431 -> "headers_too_large";
            case 503 -> "unavailable";
            default -> "http_" + status;
        };
    }

}
