package dev.flywheel.server.events;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.http.QueryParams;
import io.javalin.http.Context;
import java.util.Set;

/** {@code /api/events}: the audit trail. */
public final class EventRoutes implements Api.Routes {

    private static final Set<String> SEVERITIES = Set.of("info", "warning", "error");

    private final EventService events;

    public EventRoutes(EventService events) {
        this.events = events;
    }

    @Override
    public void register(Api api) {
        api.get("/api/events").access(Access.VIEWER).tag("observability")
                .summary("The audit trail, newest first")
                .query("deployment_id", "string", "only this deployment's events")
                .query("type", "string", "only events whose type starts with this, such as plugin. or training.run")
                .query("subject_id", "string", "only events about this object")
                .query("severity", "string", "info, warning or error")
                .query("since", "string", "only events at or after this ISO-8601 time")
                .paged()
                .ok("EventPage")
                .handle(this::list);
    }

    private void list(Context ctx) {
        String severity = ctx.queryParam("severity");
        if (severity != null && !SEVERITIES.contains(severity)) {
            throw ApiException.badRequest("invalid_parameter", "severity must be info, warning or error");
        }
        var filter = new EventFilter(ctx.queryParam("deployment_id"), ctx.queryParam("type"),
                ctx.queryParam("subject_id"), severity, QueryParams.instant(ctx, "since"));
        ctx.json(events.list(filter, PageRequest.from(ctx)));
    }
}
