package dev.flywheel.server.feedback;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.QueryParams;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;

/** Review, the review queue, the feedback loop and reference data. */
public final class FeedbackRoutes implements Api.Routes {

    private final ReviewService reviews;
    private final FeedbackLoopService loops;

    public FeedbackRoutes(ReviewService reviews, FeedbackLoopService loops) {
        this.reviews = reviews;
        this.loops = loops;
    }

    /**
     * The body of {@code POST /api/predictions/{p}/review}.
     *
     * @param action accept, correct or reject
     * @param label the right label, for corrections
     */
    public record ReviewBody(String action, String label) {}

    /**
     * The body of {@code POST /api/deployments/{d}/reviews}.
     *
     * @param reviews the reviews, each with its prediction_id
     */
    public record BulkReviewBody(List<ReviewService.ReviewRequest> reviews) {}

    /**
     * The body of {@code POST /api/predictions/{p}/flag}.
     *
     * @param reason why it should be reviewed first
     */
    public record FlagBody(String reason) {}

    /**
     * A body naming a dataset version.
     *
     * @param datasetVersionId the dataset version
     */
    public record DatasetVersionBody(String datasetVersionId) {}

    /**
     * The body of {@code PUT …/feedback-loop/active}.
     *
     * @param active whether reviewed predictions flow
     */
    public record ActiveBody(Boolean active) {}

    @Override
    public void register(Api api) {
        api.post("/api/predictions/{p}/review").access(Access.REVIEWER).tag("review")
                .summary("Review a prediction: accept it, correct its label, or reject it; a second review is a 409")
                .body("ReviewRequest").ok("Prediction")
                .response(409, "application/json", "Error", "The prediction was already reviewed")
                .handle(ctx -> {
                    var body = Bodies.json(ctx, ReviewBody.class);
                    ctx.json(reviews.review(ctx.pathParam("p"), body.action(), body.label(), AccessControl.principal(ctx)));
                });
        api.post("/api/deployments/{d}/reviews").access(Access.REVIEWER).tag("review")
                .summary("Review many predictions of a deployment in one request; each succeeds or fails on its own")
                .body("BulkReviewRequest").ok("BulkReviewResult")
                .handle(ctx -> ctx.json(reviews.reviewAll(ctx.pathParam("d"),
                        Bodies.json(ctx, BulkReviewBody.class).reviews(), AccessControl.principal(ctx))));
        api.post("/api/predictions/{p}/flag").access(Access.REVIEWER).tag("review")
                .summary("Flag a prediction for review: it goes to the head of the review queue")
                .body("FlagRequest").ok("Prediction")
                .handle(ctx -> ctx.json(reviews.flag(ctx.pathParam("p"), Bodies.json(ctx, FlagBody.class).reason(),
                        AccessControl.principal(ctx))));
        api.get("/api/deployments/{d}/review-queue").access(Access.VIEWER).tag("review")
                .summary("What to review next: flagged, then low-confidence predictions, then a sample of the rest, "
                        + "newest first; each item says why it is there")
                .description("A worklist rather than a paged list: review the first items and ask again.")
                .query("limit", "integer", "how many items, 1.." + ReviewService.MAX_QUEUE + " (default 50)")
                .ok("ReviewQueue")
                .handle(this::queue);
        api.get("/api/deployments/{d}/review-stats").access(Access.VIEWER).tag("review")
                .summary("Reviewed (accepted or corrected) predictions since a time, and what is waiting")
                .query("since", "string", "ISO-8601 time; default: the beginning")
                .ok("ReviewStats")
                .handle(this::stats);

        api.post("/api/deployments/{d}/feedback-loop").access(Access.ENGINEER).tag("feedback-loop")
                .summary("Set up the deployment's feedback loop (inactive until turned on); again changes nothing")
                .created("FeedbackLoop").response(200, "application/json", "FeedbackLoop", "It was already set up")
                .handle(ctx -> {
                    var result = loops.setUp(ctx.pathParam("d"), AccessControl.principal(ctx));
                    ctx.status(result.getValue() ? 201 : 200).json(result.getKey());
                });
        api.get("/api/deployments/{d}/feedback-loop").access(Access.VIEWER).tag("feedback-loop")
                .summary("The feedback loop: active or not, its dataset versions, what is pending and submitted")
                .ok("FeedbackLoop")
                .handle(ctx -> ctx.json(loops.get(ctx.pathParam("d"))));
        api.post("/api/deployments/{d}/feedback-loop/dataset-versions").access(Access.ENGINEER).tag("feedback-loop")
                .summary("Attach a dataset version: reviewed predictions will become its items")
                .body("DatasetVersionRef").ok("FeedbackLoop")
                .handle(ctx -> ctx.json(loops.attach(ctx.pathParam("d"),
                        Bodies.json(ctx, DatasetVersionBody.class).datasetVersionId(), AccessControl.principal(ctx))));
        api.delete("/api/deployments/{d}/feedback-loop/dataset-versions/{dv}").access(Access.ENGINEER)
                .tag("feedback-loop").summary("Detach a dataset version; its items stay").noContent()
                .handle(ctx -> {
                    loops.detach(ctx.pathParam("d"), ctx.pathParam("dv"), AccessControl.principal(ctx));
                    ctx.status(204);
                });
        api.put("/api/deployments/{d}/feedback-loop/active").access(Access.ENGINEER).tag("feedback-loop")
                .summary("Turn the feedback loop on or off; turning it on flows what was reviewed meanwhile")
                .body("ActiveRequest").ok("FeedbackLoop")
                .handle(ctx -> {
                    Boolean active = Bodies.json(ctx, ActiveBody.class).active();
                    if (active == null) {
                        throw ApiException.badRequest("invalid_field", "active is required: true or false");
                    }
                    ctx.json(loops.setActive(ctx.pathParam("d"), active, AccessControl.principal(ctx)));
                });
        api.put("/api/deployments/{d}/reference").access(Access.ENGINEER).tag("deployments")
                .summary("Name the training data (a dataset version) that drift is measured against")
                .body("DatasetVersionRef").ok("Deployment")
                .handle(ctx -> ctx.json(loops.setReference(ctx.pathParam("d"),
                        Bodies.json(ctx, DatasetVersionBody.class).datasetVersionId(), AccessControl.principal(ctx))));
    }

    private void queue(Context ctx) {
        int limit = 50;
        String l = ctx.queryParam("limit");
        if (l != null) {
            try {
                limit = Integer.parseInt(l);
            } catch (NumberFormatException e) {
                limit = -1;
            }
        }
        ctx.json(reviews.queue(ctx.pathParam("d"), limit));
    }

    private void stats(Context ctx) {
        Instant given = QueryParams.instant(ctx, "since");
        Instant since = given == null ? Instant.EPOCH : given;
        String d = ctx.pathParam("d");
        var queue = reviews.queue(d, 1);
        var body = new LinkedHashMap<String, Object>();
        body.put("since", since);
        body.put("reviewed", reviews.reviewedSince(d, since));
        body.put("to_review", queue.toReview());
        body.put("anomalies", queue.anomalies());
        ctx.json(body);
    }
}
