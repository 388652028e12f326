package dev.flywheel.server.feedback;

import dev.flywheel.server.serving.Prediction;
import dev.flywheel.server.serving.PredictionStore;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/** The review columns of the {@code prediction} table: reviews, flags, the review queue and its counts. */
public final class ReviewStore {

    private static final String COLUMNS = PredictionStore.SELECT_COLUMNS;
    /**
     * Newest first among a deployment's waiting predictions. The columns the WHERE clause fixes are spelled out in
     * the ORDER BY on purpose: H2 only reads the {@code (deployment_id, status, id)} index in order (backwards,
     * stopping after LIMIT rows) when the ORDER BY names the index's columns from the first; given {@code id DESC}
     * alone it reads every waiting row of the deployment and sorts them (seconds at 100 000 rows). PostgreSQL reads
     * the index backwards either way.
     */
    private static final String NEWEST_WAITING_FIRST = " ORDER BY deployment_id DESC, status DESC, id DESC";
    /** The primary and the shadow answered the same input with different labels. */
    private static final String DISAGREES = "(shadow_status = 'ok' AND shadow_label <> label)";
    private static final String AGREES_OR_NO_SHADOW = "(shadow_status IS NULL OR shadow_status <> 'ok' "
            + "OR shadow_label = label)";
    /**
     * Flagged, as a range over {@code prediction_flagged}: a flag sets {@code flagged_at}, and a bounded range stops
     * before the unflagged rows (their NULLs sort last in that index on both databases), where
     * {@code flag_reason IS NOT NULL} would read every waiting row.
     */
    private static final String FLAGGED = "flagged_at < :never";
    private static final String NOT_FLAGGED = "flagged_at IS NULL";
    private static final Timestamp NEVER = Timestamp.from(Instant.parse("9999-01-01T00:00:00Z"));

    private final Jdbi jdbi;
    /**
     * On H2, the index for the newest ordinary predictions: given a range on {@code confidence} as well, H2's
     * optimizer picks {@code prediction_queue_order} and then sorts every ordinary waiting row by id; with the hint it
     * walks {@code (deployment_id, status, id)} backwards and stops after LIMIT matches.
     */
    private final String newestWaitingHint;

    public ReviewStore(Jdbi jdbi) {
        this.jdbi = jdbi;
        this.newestWaitingHint = dev.flywheel.server.persistence.Database.isH2(jdbi)
                ? " USE INDEX (prediction_deployment_status)" : "";
    }

    /**
     * Records a review if the prediction is still to be reviewed. The condition on the status makes concurrent
     * reviews of one prediction race safely: exactly one update matches.
     *
     * @return whether this review won
     */
    public boolean review(String predictionId, String action, String label, String by, Instant at) {
        return jdbi.withHandle(h -> h.createUpdate("""
                UPDATE prediction SET status = 'REVIEWED', review_action = :action, reviewed_label = :label,
                                      reviewed_by = :by, reviewed_at = :at
                WHERE id = :id AND status = 'TO_REVIEW'
                """).bind("id", predictionId).bind("action", action).bind("label", label).bind("by", by)
                .bind("at", Timestamp.from(at)).execute()) == 1;
    }

    /** Flags a prediction still to be reviewed; returns whether it was. */
    public boolean flag(String predictionId, String reason, String by, Instant at) {
        return jdbi.withHandle(h -> h.createUpdate("""
                UPDATE prediction SET flag_reason = :reason, flagged_by = :by, flagged_at = :at
                WHERE id = :id AND status = 'TO_REVIEW'
                """).bind("id", predictionId).bind("reason", reason).bind("by", by).bind("at", Timestamp.from(at))
                .execute()) == 1;
    }

    /** Flagged predictions to review, oldest flag first. */
    public List<Prediction> flagged(String deploymentId, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM prediction WHERE deployment_id = :d"
                + " AND status = 'TO_REVIEW' AND " + FLAGGED + " ORDER BY deployment_id, status, flagged_at, id"
                + " LIMIT :limit")
                .bind("d", deploymentId).bind("never", NEVER).bind("limit", limit)
                .map((rs, c) -> PredictionStore.map(rs)).list());
    }

    /** Unflagged predictions on which the shadow disagreed with the primary, newest first. */
    public List<Prediction> disagreements(String deploymentId, int limit) {
        // prediction_shadow_outcome walked backwards: only rows the shadow answered, newest first.
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM prediction WHERE deployment_id = :d"
                + " AND status = 'TO_REVIEW' AND shadow_status = 'ok' AND shadow_label <> label AND " + NOT_FLAGGED
                + " ORDER BY deployment_id DESC, status DESC, shadow_status DESC, id DESC LIMIT :limit")
                .bind("d", deploymentId).bind("limit", limit).map((rs, c) -> PredictionStore.map(rs)).list());
    }

    /**
     * Unflagged predictions below the confidence threshold without a disagreement, least confident first (oldest
     * first among equals).
     */
    public List<Prediction> lowConfidence(String deploymentId, double threshold, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM prediction WHERE deployment_id = :d"
                + " AND status = 'TO_REVIEW' AND confidence < :t AND " + NOT_FLAGGED + " AND " + AGREES_OR_NO_SHADOW
                // The whole prediction_queue_order index, from its first column, as for NEWEST_WAITING_FIRST: H2 then
                // reads LIMIT rows of it in order instead of every low-confidence row.
                + " ORDER BY deployment_id, status, confidence, id LIMIT :limit")
                .bind("d", deploymentId).bind("t", threshold).bind("limit", limit)
                .map((rs, c) -> PredictionStore.map(rs)).list());
    }

    /** Ordinary predictions in the sample, newest first. */
    public List<Prediction> sampled(String deploymentId, double threshold, int bucketLimit, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM prediction" + newestWaitingHint
                + " WHERE deployment_id = :d AND status = 'TO_REVIEW' AND confidence >= :t AND " + NOT_FLAGGED
                + " AND review_bucket < :b AND " + AGREES_OR_NO_SHADOW + NEWEST_WAITING_FIRST + " LIMIT :limit")
                .bind("d", deploymentId).bind("t", threshold).bind("b", bucketLimit).bind("limit", limit)
                .map((rs, c) -> PredictionStore.map(rs)).list());
    }

    /**
     * The newest ordinary predictions waiting (not flagged, not disagreeing, not below the threshold), whatever the
     * sample, with their inputs when these live in the row: where drift outliers are looked for.
     */
    public List<ReviewService.Candidate> recentOrdinary(String deploymentId, double threshold, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT id, input_sha256, input_content_type, input_inline"
                + " FROM prediction" + newestWaitingHint + " WHERE deployment_id = :d AND status = 'TO_REVIEW'"
                + " AND confidence >= :t AND " + NOT_FLAGGED + " AND " + AGREES_OR_NO_SHADOW + NEWEST_WAITING_FIRST
                + " LIMIT :limit")
                .bind("d", deploymentId).bind("t", threshold).bind("limit", limit)
                .map((rs, c) -> new ReviewService.Candidate(rs.getString("id"), rs.getString("input_sha256"),
                        rs.getString("input_content_type"), rs.getBytes("input_inline")))
                .list());
    }

    /** One prediction, whole. */
    public java.util.Optional<Prediction> find(String predictionId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + COLUMNS + " FROM prediction WHERE id = :id")
                .bind("id", predictionId).map((rs, c) -> PredictionStore.map(rs)).findOne());
    }

    /**
     * What waits in a deployment's review queue.
     *
     * @param anomalies flagged, a shadow disagreement, or below the threshold
     * @param sampled the other waiting predictions that are in the review sample
     */
    public record WaitingCounts(long anomalies, long sampled) {}

    /**
     * Counts what waits, in one statement of disjoint parts, each a range of an index: below the threshold
     * ({@code prediction_queue_order}); flagged at or above it ({@code prediction_flagged}); disagreeing, unflagged, at
     * or above it ({@code prediction_shadow_outcome}) — one condition with ORs would read every waiting row. With
     * everything sampled (the default) the sample is everything at or above the threshold (a range too) less the
     * flagged and disagreeing parts; a smaller sample is counted row by row.
     */
    public WaitingCounts waiting(String deploymentId, double threshold, int bucketLimit) {
        boolean all = bucketLimit >= PredictionStore.REVIEW_BUCKETS;
        String waiting = "SELECT COUNT(*) FROM prediction WHERE deployment_id = :d AND status = 'TO_REVIEW' AND ";
        return jdbi.withHandle(h -> {
            Query q = h.createQuery("SELECT "
                    + "(" + waiting + "confidence < :t) AS below, "
                    + "(" + waiting + FLAGGED + " AND confidence >= :t) AS flagged, "
                    + "(" + waiting + "shadow_status = 'ok' AND shadow_label <> label AND " + NOT_FLAGGED
                    + " AND confidence >= :t) AS disagreeing, "
                    + "(" + waiting + "confidence >= :t" + (all ? "" : " AND " + NOT_FLAGGED
                            + " AND review_bucket < :b AND " + AGREES_OR_NO_SHADOW) + ") AS ordinary")
                    .bind("d", deploymentId).bind("t", threshold).bind("never", NEVER);
            if (!all) {
                q.bind("b", bucketLimit);
            }
            return q.map((rs, c) -> {
                long flaggedOrDisagreeing = rs.getLong("flagged") + rs.getLong("disagreeing");
                long ordinary = rs.getLong("ordinary");
                return new WaitingCounts(rs.getLong("below") + flaggedOrDisagreeing,
                        all ? ordinary - flaggedOrDisagreeing : ordinary);
            }).one();
        });
    }

    /**
     * Accepted or corrected reviews of a deployment at or after a time: what a review-count trigger counts. It reads
     * the {@code (deployment_id, reviewed_at, review_action)} index over the reviews since then only.
     */
    public long reviewedSince(String deploymentId, Instant since) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT COUNT(*) FROM prediction WHERE deployment_id = :d AND reviewed_at >= :since
                  AND review_action IN ('accept', 'correct')
                """).bind("d", deploymentId).bind("since", Timestamp.from(since)).mapTo(Long.class).one());
    }
}
