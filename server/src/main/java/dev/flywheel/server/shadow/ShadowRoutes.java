package dev.flywheel.server.shadow;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.Bodies;

/** A deployment's shadow model, and running it on demand on a prediction. */
public final class ShadowRoutes implements Api.Routes {

    private final ShadowService shadows;

    public ShadowRoutes(ShadowService shadows) {
        this.shadows = shadows;
    }

    /**
     * The body of {@code PUT /api/deployments/{d}/shadow}.
     *
     * @param modelVersionId the version to run as the shadow
     */
    public record SetShadowBody(String modelVersionId) {}

    @Override
    public void register(Api api) {
        api.put("/api/deployments/{d}/shadow").access(Access.ENGINEER).tag("shadow")
                .summary("Set the shadow model: it runs beside the primary on the same traffic, without affecting its "
                        + "answers; a different shadow replaces the current one and restarts the comparison")
                .description("The version must have the primary's labels (400 labels_mismatch otherwise).")
                .body("SetShadowRequest").ok("Deployment")
                .handle(ctx -> ctx.json(shadows.set(ctx.pathParam("d"),
                        Bodies.json(ctx, SetShadowBody.class).modelVersionId(), AccessControl.principal(ctx).actor(),
                        "set by hand")));
        api.delete("/api/deployments/{d}/shadow").access(Access.ENGINEER).tag("shadow")
                .summary("Remove the shadow model; removing none changes nothing").ok("Deployment")
                .handle(ctx -> ctx.json(shadows.remove(ctx.pathParam("d"), null, AccessControl.principal(ctx).actor(),
                        "removed by hand")));
        api.post("/api/predictions/{p}/shadow").access(Access.ENGINEER).tag("shadow")
                .summary("Run the deployment's shadow on this prediction's stored input now, store and return the "
                        + "result on the prediction")
                .ok("Prediction")
                .response(409, "application/json", "Error", "The deployment has no shadow")
                .handle(ctx -> ctx.json(shadows.runOnDemand(ctx.pathParam("p"))));
    }
}
