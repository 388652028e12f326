package dev.flywheel.server.promotion;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.plugins.PluginInfo;
import io.javalin.http.Context;
import java.util.Map;

/** The live comparison, continuous deployment, promotion and rollback. */
public final class PromotionRoutes implements Api.Routes {

    private final ComparisonService comparisons;
    private final ContinuousDeploymentService settings;
    private final PromotionService promotions;

    public PromotionRoutes(ComparisonService comparisons, ContinuousDeploymentService settings,
            PromotionService promotions) {
        this.comparisons = comparisons;
        this.settings = settings;
        this.promotions = promotions;
    }

    /**
     * The body of {@code PUT …/continuous-deployment/active}.
     *
     * @param active whether continuous deployment is on
     */
    public record ActiveBody(Boolean active) {}

    @Override
    public void register(Api api) {
        api.get("/api/deployments/{d}/comparison").access(Access.VIEWER).tag("promotion")
                .summary("Live comparison of the primary and the shadow since the shadow was set: agreement, "
                        + "accuracy on reviewed predictions with 95% intervals, McNemar's test, latency, errors, skips")
                .query("bucket", "string", "time bucket size such as 15m, 1h (default) or 1d")
                .query("buckets", "integer", "how many of the last buckets, 1.." + ComparisonService.MAX_BUCKETS
                        + " (default " + ComparisonService.DEFAULT_BUCKETS + ")")
                .ok("Comparison")
                .response(409, "application/json", "Error", "The deployment has no shadow")
                .handle(this::comparison);
        api.put("/api/deployments/{d}/continuous-deployment").access(Access.ENGINEER).tag("promotion")
                .summary("Set up continuous deployment: what happens to versions continuous training makes, and the "
                        + "promoter (with its settings) that decides promotions; inactive until turned on")
                .body("ContinuousDeploymentRequest").ok("ContinuousDeployment")
                .handle(ctx -> {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> body = Bodies.json(ctx, Map.class);
                    ctx.json(settings.configure(ctx.pathParam("d"), body, AccessControl.principal(ctx).actor()));
                });
        api.get("/api/deployments/{d}/continuous-deployment").access(Access.VIEWER).tag("promotion")
                .summary("The continuous deployment configuration, whether it is on, and the last decision")
                .ok("ContinuousDeployment")
                .handle(ctx -> ctx.json(settings.get(ctx.pathParam("d"))));
        api.put("/api/deployments/{d}/continuous-deployment/active").access(Access.ENGINEER).tag("promotion")
                .summary("Turn continuous deployment on (the promoter is asked at once, then on its interval and after "
                        + "reviews) or off")
                .body("ActiveRequest").ok("ContinuousDeployment")
                .handle(ctx -> {
                    Boolean active = Bodies.json(ctx, ActiveBody.class).active();
                    if (active == null) {
                        throw ApiException.badRequest("invalid_field", "active is required: true or false");
                    }
                    ctx.json(settings.setActive(ctx.pathParam("d"), active, AccessControl.principal(ctx).actor()));
                });
        api.get("/api/continuous-deployment/rollback-schema").access(Access.VIEWER).tag("promotion")
                .summary("The settings of automatic rollback after an automatic promotion (the rollback object of "
                        + "continuous deployment), as a config schema for forms")
                .ok("RollbackSchema")
                .handle(ctx -> ctx.json(Map.of("config_schema",
                        PluginInfo.SettingInfo.of(RollbackSettings.SCHEMA))));
        api.post("/api/deployments/{d}/promote").access(Access.ENGINEER).tag("promotion")
                .summary("Promote the shadow: it becomes the primary at once, atomically; the old primary is kept for "
                        + "a rollback")
                .ok("Deployment")
                .response(409, "application/json", "Error", "No shadow, or the deployment changed meanwhile")
                .handle(ctx -> ctx.json(promotions.promote(ctx.pathParam("d"), AccessControl.principal(ctx).actor())));
        api.post("/api/deployments/{d}/rollback").access(Access.ENGINEER).tag("promotion")
                .summary("Restore the primary that the last promotion replaced")
                .ok("Deployment")
                .response(409, "application/json", "Error", "Nothing to roll back to")
                .handle(ctx -> ctx.json(promotions.rollback(ctx.pathParam("d"), AccessControl.principal(ctx).actor())));
    }

    private void comparison(Context ctx) {
        Integer buckets = null;
        String n = ctx.queryParam("buckets");
        if (n != null) {
            try {
                buckets = Integer.parseInt(n);
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("invalid_parameter", "buckets must be a whole number");
            }
        }
        ctx.json(comparisons.compare(ctx.pathParam("d"), ctx.queryParam("bucket"), buckets));
    }
}
