package dev.flywheel.server.promotion;

import java.sql.Timestamp;
import java.time.Instant;
import org.jdbi.v3.core.Jdbi;

/** What the bake watch reads of a model version's record as a deployment's primary, from the prediction rows. */
public final class BakeStore {

    private final Jdbi jdbi;

    /**
     * Reviewed predictions of one version.
     *
     * @param n how many were accepted or corrected
     * @param correct of those, how many the version got right
     */
    public record Reviewed(long n, long correct) {

        /** correct / n, or NaN without any. */
        public double accuracy() {
            return n == 0 ? Double.NaN : (double) correct / n;
        }
    }

    public BakeStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** Predictions the version answered as the deployment's primary that were made in {@code [from, until)}. */
    public long served(String deploymentId, String versionId, Instant from, Instant until) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT COUNT(*) FROM prediction
                WHERE deployment_id = :d AND created_at >= :from AND created_at < :until
                  AND model_version_id = :v AND source = 'served'
                """).bind("d", deploymentId).bind("v", versionId).bind("from", Timestamp.from(from))
                .bind("until", Timestamp.from(until)).mapTo(Long.class).one());
    }

    /**
     * The most recently reviewed (accepted or corrected) of the version's predictions made in {@code [from, until)},
     * at most {@code limit} of them. Reads reviews, not traffic: the {@code (deployment_id, reviewed_at, …)} index.
     */
    public Reviewed reviewed(String deploymentId, String versionId, Instant from, Instant until, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN label = reviewed_label THEN 1 ELSE 0 END), 0) AS correct
                FROM (SELECT label, reviewed_label FROM prediction
                      WHERE deployment_id = :d AND reviewed_at IS NOT NULL AND review_action IN ('accept', 'correct')
                        AND model_version_id = :v AND created_at >= :from AND created_at < :until
                      ORDER BY reviewed_at DESC LIMIT :limit) t
                """).bind("d", deploymentId).bind("v", versionId).bind("from", Timestamp.from(from))
                .bind("until", Timestamp.from(until)).bind("limit", limit)
                .map((rs, c) -> new Reviewed(rs.getLong("n"), rs.getLong("correct"))).one());
    }
}
