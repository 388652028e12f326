package dev.flywheel.server.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flywheel.server.access.Access;
import dev.flywheel.server.metrics.Metrics;
import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.scheduling.Scheduling;
import io.javalin.http.Context;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** {@code /health}, {@code /metrics} and {@code /openapi.json}: open to monitoring without a token. */
public final class SystemRoutes implements Api.Routes {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SystemRoutes.class);

    private final Database database;
    private final Scheduling scheduling;
    private final Metrics metrics;
    private final String version;
    private final Supplier<ObjectNode> openApi;

    public SystemRoutes(Database database, Scheduling scheduling, Metrics metrics, String version,
            Supplier<ObjectNode> openApi) {
        this.database = database;
        this.scheduling = scheduling;
        this.metrics = metrics;
        this.version = version;
        this.openApi = openApi;
    }

    @Override
    public void register(Api api) {
        api.get("/health").access(Access.PUBLIC).tag("observability")
                .summary("Liveness and readiness: the database and the scheduler")
                .ok("Health")
                .response(503, "application/json", "Health", "A dependency is down")
                .handle(this::health);
        api.get("/metrics").access(Access.PUBLIC).tag("observability")
                .summary("Prometheus metrics: JVM, HTTP server and flywheel_* meters")
                .response(200, "text/plain", null, "Prometheus text exposition format")
                .handle(ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
        api.get("/openapi.json").access(Access.PUBLIC).tag("observability")
                .summary("This API's OpenAPI 3.1 document")
                .response(200, "application/json", null, "The OpenAPI document")
                .handle(ctx -> ctx.json(openApi.get()));
    }

    private void health(Context ctx) {
        Map<String, Object> checks = new LinkedHashMap<>();
        boolean ok = true;
        String kind = database.isPostgres() ? "postgresql" : "h2";
        // While the database is known to be down, say so at once; the availability probe notices its return.
        boolean up = database.availability().isUp();
        if (up) {
            try {
                database.jdbi().withHandle(h -> h.createQuery("SELECT 1").mapTo(Integer.class).one());
            } catch (RuntimeException e) {
                LOG.warn("health check: the database does not answer: {}", e.toString());
                database.availability().report(e);
                up = false;
            }
        }
        ok &= up;
        checks.put("database", up ? Map.of("status", "up", "kind", kind)
                : Map.of("status", "down", "kind", kind, "error", "the database cannot be reached; see the server's log"));
        boolean scheduler = scheduling.isRunning();
        ok &= scheduler;
        checks.put("scheduler", Map.of("status", scheduler ? "up" : "down", "instance_id", scheduling.instanceId()));
        var body = new LinkedHashMap<String, Object>();
        body.put("status", ok ? "up" : "down");
        body.put("version", version);
        body.put("checks", checks);
        if (!ok) {
            ctx.header("Retry-After", "5");
        }
        ctx.status(ok ? 200 : 503).json(body);
    }
}
