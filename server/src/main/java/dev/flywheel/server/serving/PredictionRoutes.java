package dev.flywheel.server.serving;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.http.QueryParams;
import io.javalin.http.Context;

/** Predicting and the prediction log: {@code /api/deployments/{d}/predict}, {@code …/predictions}, {@code /api/predictions}. */
public final class PredictionRoutes implements Api.Routes {

    private final PredictionService predictions;

    public PredictionRoutes(PredictionService predictions) {
        this.predictions = predictions;
    }

    @Override
    public void register(Api api) {
        api.post("/api/deployments/{d}/predict").access(Access.PREDICT).tag("predictions")
                .summary("Predict with the deployment's primary model; the prediction is logged")
                .description("Features as application/json {\"features\": [...]}; an image as the raw bytes with "
                        + "Content-Type image/png or image/jpeg, or as JSON {\"image_base64\": \"...\"}. The input "
                        + "is stored exactly as sent (a base64 image is stored decoded, as a PNG or JPEG). With the "
                        + "deployment's capture_mode durable (the default) the answer comes once the prediction's "
                        + "row is committed and on disk; with async, at once, and a crash of the server can lose "
                        + "the predictions answered in its last moments (see DeploymentSettings.capture_mode). "
                        + "Bad input — not exactly one JSON object, features too large for the model to compute "
                        + "with — is a 400 and logs nothing. While the database cannot be reached the answer is "
                        + "503 with Retry-After. Predict tokens of this deployment may call it.")
                .body(PredictPayload.JSON, "PredictRequest", "features or an image; or image/png, image/jpeg bytes")
                .ok("PredictResponse")
                .handle(this::predict);
        api.post("/api/deployments/{d}/predictions").access(Access.PREDICT).tag("predictions")
                .summary("Log a prediction made elsewhere, with its input")
                .body("LogPredictionRequest").created("Prediction")
                .handle(ctx -> ctx.status(201).json(predictions.log(ctx.pathParam("d"),
                        Bodies.json(ctx, PredictionService.LogPredictionRequest.class))));
        api.get("/api/deployments/{d}/predictions").access(Access.VIEWER).tag("predictions")
                .summary("List a deployment's predictions, newest first")
                .query("status", "string", "TO_REVIEW, REVIEWED or SUBMITTED")
                .query("model_version_id", "string", "only those made by this model version")
                .query("since", "string", "only those made at or after this ISO-8601 time")
                .query("until", "string", "only those made before this ISO-8601 time")
                .query("label", "string", "only those with this label")
                .query("confidence_below", "number", "only those with a confidence below this")
                .paged()
                .ok("PredictionPage")
                .handle(this::list);
        api.get("/api/predictions/{p}").access(Access.VIEWER).tag("predictions")
                .summary("Get a prediction").ok("Prediction")
                .handle(ctx -> ctx.json(predictions.get(ctx.pathParam("p"))));
        api.get("/api/predictions/{p}/input").access(Access.VIEWER).tag("predictions")
                .summary("The prediction's input, exactly as stored, with its content type")
                .response(200, "application/octet-stream", null,
                        "the payload: application/json features, or image/png or image/jpeg bytes")
                .handle(this::input);
    }

    private void predict(Context ctx) {
        ctx.json(predictions.predict(ctx.pathParam("d"), ctx.contentType(), ctx.bodyAsBytes()));
    }

    private void list(Context ctx) {
        String status = ctx.queryParam("status");
        if (status != null && !Prediction.STATUSES.contains(status)) {
            throw ApiException.badRequest("invalid_parameter", "status must be one of " + Prediction.STATUSES);
        }
        Double below = null;
        String b = ctx.queryParam("confidence_below");
        if (b != null) {
            try {
                below = Double.parseDouble(b);
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("invalid_parameter", "confidence_below must be a number such as 0.6");
            }
        }
        var filter = new PredictionFilter(status, ctx.queryParam("model_version_id"), QueryParams.instant(ctx, "since"),
                QueryParams.instant(ctx, "until"), ctx.queryParam("label"), below);
        ctx.json(predictions.list(ctx.pathParam("d"), filter, PageRequest.from(ctx)));
    }

    private void input(Context ctx) {
        var input = predictions.input(ctx.pathParam("p"));
        ctx.result(input.content());
        ctx.contentType(input.contentType());
        if (input.contentType().startsWith("image/")) {
            // Jetty appends the default charset to every content type; an image has none.
            ctx.res().setCharacterEncoding(null);
        }
    }
}
