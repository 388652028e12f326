package dev.flywheel.server.promotion;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/**
 * Aggregates the prediction rows one primary/shadow pair made since a time, in the database: counts, paired reviewed
 * outcomes and latency percentiles. Reads the {@code (deployment_id, shadow_model_version_id, created_at)} index.
 */
public final class ComparisonStore {

    /** A reviewed ground truth: an accepted or corrected review (a rejection says nothing about the label). */
    private static final String REVIEWED = "shadow_status = 'ok' AND review_action IN ('accept', 'correct')";
    /** A shadow answer made beside the primary, not later by the backfill: its latency and queue wait are live. */
    private static final String LIVE = "shadow_status = 'ok' AND COALESCE(shadow_backfilled, FALSE) = FALSE";

    private static final String AGGREGATES = """
            COUNT(*) AS requests,
            SUM(CASE WHEN shadow_status = 'ok' THEN 1 ELSE 0 END) AS compared,
            SUM(CASE WHEN shadow_status = 'ok' AND shadow_label = label THEN 1 ELSE 0 END) AS agreements,
            SUM(CASE WHEN shadow_status = 'error' THEN 1 ELSE 0 END) AS errors,
            SUM(CASE WHEN shadow_status = 'skipped' THEN 1 ELSE 0 END) AS skips,
            SUM(CASE WHEN shadow_status = 'pending' THEN 1 ELSE 0 END) AS pending,
            SUM(CASE WHEN %1$s THEN 1 ELSE 0 END) AS paired,
            SUM(CASE WHEN %1$s AND label = reviewed_label AND shadow_label = reviewed_label THEN 1 ELSE 0 END)
                AS both_correct,
            SUM(CASE WHEN %1$s AND label = reviewed_label AND shadow_label <> reviewed_label THEN 1 ELSE 0 END)
                AS primary_only,
            SUM(CASE WHEN %1$s AND label <> reviewed_label AND shadow_label = reviewed_label THEN 1 ELSE 0 END)
                AS shadow_only,
            SUM(CASE WHEN %1$s AND label <> reviewed_label AND shadow_label <> reviewed_label THEN 1 ELSE 0 END)
                AS both_wrong,
            SUM(CASE WHEN shadow_status IN ('skipped', 'pending') AND review_action IN ('accept', 'correct')
                THEN 1 ELSE 0 END) AS awaiting,
            SUM(CASE WHEN shadow_backfilled THEN 1 ELSE 0 END) AS backfilled,
            PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE shadow_status = 'ok') AS primary_p50,
            PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE shadow_status = 'ok') AS primary_p95,
            PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY shadow_latency_ms) FILTER (WHERE %2$s) AS shadow_p50,
            PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY shadow_latency_ms) FILTER (WHERE %2$s) AS shadow_p95,
            PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY shadow_wait_ms) FILTER (WHERE %2$s) AS wait_p50,
            PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY shadow_wait_ms) FILTER (WHERE %2$s) AS wait_p95
            """.formatted(REVIEWED, LIVE);

    private static final String PAIR = """
            deployment_id = :d AND model_version_id = :primary AND shadow_model_version_id = :shadow
            AND created_at >= :since AND created_at < :until
            """;

    private final Jdbi jdbi;

    /**
     * What one window holds.
     *
     * @param requests inputs given to the shadow (run, failed, skipped or still pending)
     * @param compared inputs both models answered
     * @param agreements of those, with the same label
     * @param errors shadow runs that failed
     * @param skips inputs skipped because the shadow's queue was full
     * @param pending inputs whose shadow result is not stored yet
     * @param paired compared inputs a person has since accepted or corrected
     * @param bothCorrect paired: both right
     * @param primaryOnly paired: only the primary right (McNemar's b)
     * @param shadowOnly paired: only the shadow right (McNemar's c)
     * @param bothWrong paired: both wrong
     * @param awaiting inputs a person accepted or corrected whose shadow answer is missing (skipped, or pending):
     *     the backfill is making them into paired evidence
     * @param backfilled shadow answers the backfill made from stored inputs
     * @param primaryP50 the primary's median latency on compared inputs, ms, or {@code null}
     * @param primaryP95 its 95th percentile
     * @param shadowP50 the shadow's median latency on inputs it answered beside the primary, ms, or {@code null}
     * @param shadowP95 its 95th percentile
     * @param waitP50 the median time those inputs waited in the shadow's queue, ms, or {@code null}
     * @param waitP95 its 95th percentile
     */
    public record Window(long requests, long compared, long agreements, long errors, long skips, long pending,
            long paired, long bothCorrect, long primaryOnly, long shadowOnly, long bothWrong, long awaiting,
            long backfilled, Double primaryP50, Double primaryP95, Double shadowP50, Double shadowP95, Double waitP50,
            Double waitP95) {

        /** Nothing. */
        static final Window EMPTY = new Window(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, null, null, null, null,
                null);
    }

    /**
     * One time bucket.
     *
     * @param index the bucket's number: its start is {@code index * size} seconds after the epoch
     * @param window what it holds
     */
    public record Bucket(long index, Window window) {}

    public ComparisonStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** The pair's predictions made in {@code [since, until)}. */
    public Window window(String deploymentId, String primary, String shadow, Instant since, Instant until) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + AGGREGATES + " FROM prediction WHERE " + PAIR)
                .bind("d", deploymentId).bind("primary", primary).bind("shadow", shadow)
                .bind("since", Timestamp.from(since)).bind("until", Timestamp.from(until))
                .map((rs, c) -> window(rs)).one());
    }

    /** The pair's predictions made in {@code [since, until)}, by buckets of {@code sizeSeconds}; empty ones absent. */
    public List<Bucket> buckets(String deploymentId, String primary, String shadow, Instant since, Instant until,
            long sizeSeconds) {
        return jdbi.withHandle(h -> h.createQuery("SELECT bucket, " + AGGREGATES
                + " FROM (SELECT p.*, CAST(FLOOR(CAST(EXTRACT(EPOCH FROM created_at) AS DOUBLE PRECISION) / :size)"
                + " AS BIGINT) AS bucket FROM prediction p WHERE " + PAIR + ") t GROUP BY bucket ORDER BY bucket")
                .bind("d", deploymentId).bind("primary", primary).bind("shadow", shadow)
                .bind("since", Timestamp.from(since)).bind("until", Timestamp.from(until))
                .bind("size", (double) sizeSeconds)
                .map((rs, c) -> new Bucket(rs.getLong("bucket"), window(rs))).list());
    }

    private static Window window(ResultSet rs) throws SQLException {
        return new Window(rs.getLong("requests"), rs.getLong("compared"), rs.getLong("agreements"),
                rs.getLong("errors"), rs.getLong("skips"), rs.getLong("pending"), rs.getLong("paired"),
                rs.getLong("both_correct"), rs.getLong("primary_only"), rs.getLong("shadow_only"),
                rs.getLong("both_wrong"), rs.getLong("awaiting"), rs.getLong("backfilled"),
                nullable(rs, "primary_p50"), nullable(rs, "primary_p95"), nullable(rs, "shadow_p50"),
                nullable(rs, "shadow_p95"), nullable(rs, "wait_p50"), nullable(rs, "wait_p95"));
    }

    private static Double nullable(ResultSet rs, String column) throws SQLException {
        double v = rs.getDouble(column);
        return rs.wasNull() ? null : v;
    }
}
