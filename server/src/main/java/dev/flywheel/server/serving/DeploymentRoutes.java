package dev.flywheel.server.serving;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.PageRequest;
import io.javalin.http.Context;
import java.util.Map;

/** {@code /api/deployments}: the deployments that serve models. */
public final class DeploymentRoutes implements Api.Routes {

    private final DeploymentService deployments;

    public DeploymentRoutes(DeploymentService deployments) {
        this.deployments = deployments;
    }

    /**
     * The body of {@code POST /api/deployments}.
     *
     * @param name the deployment's unique name
     * @param modelVersionId the version it serves
     * @param settings {@code {"capture_mode": "durable" | "async"}}, or {@code null} for the defaults
     */
    public record CreateDeploymentRequest(String name, String modelVersionId, Map<String, Object> settings) {}

    /**
     * The body of {@code PUT /api/deployments/{d}/settings}: the settings to change.
     *
     * @param settings e.g. {@code {"review_confidence_threshold": 0.7, "review_sample_rate": 0.1}}
     */
    public record UpdateSettingsRequest(Map<String, Object> settings) {}

    @Override
    public void register(Api api) {
        api.post("/api/deployments").access(Access.ENGINEER).tag("deployments")
                .summary("Create a deployment serving a model version; the model is loaded before it answers")
                .body("CreateDeploymentRequest").created("Deployment")
                .handle(this::create);
        api.get("/api/deployments").access(Access.VIEWER).tag("deployments")
                .summary("List deployments, oldest first").paged().ok("DeploymentPage")
                .handle(ctx -> ctx.json(deployments.list(PageRequest.from(ctx))));
        api.get("/api/deployments/{d}").access(Access.VIEWER).tag("deployments")
                .summary("Get a deployment: its primary and shadow versions and its settings").ok("Deployment")
                .handle(ctx -> ctx.json(deployments.get(ctx.pathParam("d"))));
        api.put("/api/deployments/{d}/settings").access(Access.ENGINEER).tag("deployments")
                .summary("Change some of a deployment's settings (capture mode, review-queue threshold and sampling)")
                .body("UpdateDeploymentSettingsRequest").ok("Deployment")
                .handle(ctx -> ctx.json(deployments.updateSettings(ctx.pathParam("d"),
                        Bodies.json(ctx, UpdateSettingsRequest.class).settings(), AccessControl.principal(ctx))));
    }

    private void create(Context ctx) {
        var req = Bodies.json(ctx, CreateDeploymentRequest.class);
        ctx.status(201).json(deployments.create(req.name(), req.modelVersionId(), req.settings(),
                AccessControl.principal(ctx)));
    }
}
