package dev.flywheel.server.shadow;

import dev.flywheel.server.http.Json;
import dev.flywheel.server.serving.Prediction;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.SqlStatement;
import org.jdbi.v3.core.statement.Update;

/** The shadow columns of the {@code prediction} table. */
public final class ShadowStore {

    private static final String SET = """
            UPDATE prediction SET shadow_model_version_id = ?, shadow_status = ?, shadow_label = ?,
                                  shadow_confidence = ?, shadow_scores_json = ?, shadow_latency_ms = ?, shadow_error = ?,
                                  shadow_wait_ms = ?, shadow_backfilled = ?
            """;
    private static final String UPDATE = SET + " WHERE id = ?";
    /** A backfilled result never overwrites one that arrived meanwhile, nor a result of another shadow. */
    private static final String BACKFILL = SET + """
             WHERE id = ? AND shadow_model_version_id = ? AND shadow_status IN ('skipped', 'pending')
            """;

    private final Jdbi jdbi;

    /**
     * A reviewed prediction whose shadow answer is missing, as the backfill sees it.
     *
     * @param id the prediction
     * @param primaryLabel the primary's label
     * @param inputContentType its stored input's media type
     * @param inputSha256 its stored input's address
     * @param reviewedAt when it was reviewed: the backfill's cursor
     */
    public record Missing(String id, String primaryLabel, String inputContentType, String inputSha256,
            Instant reviewedAt) {}

    public ShadowStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /**
     * Writes shadow results onto their prediction rows with one JDBC batch and one commit.
     *
     * @return per result, in order, how many rows it updated: 0 when the row is not (yet) in the table
     */
    public int[] updateAll(List<ShadowResult> results) {
        if (results.isEmpty()) {
            return new int[0];
        }
        return jdbi.inTransaction(h -> {
            PreparedBatch batch = h.prepareBatch(UPDATE);
            for (ShadowResult r : results) {
                bind(batch, r.shadow()).bindBySqlType(9, r.predictionId(), Types.VARCHAR).add();
            }
            return batch.execute();
        });
    }

    /** Writes one shadow result at once (the on-demand run); returns whether the row exists. */
    public boolean update(ShadowResult r) {
        return jdbi.withHandle(h -> {
            Update u = h.createUpdate(UPDATE);
            bind(u, r.shadow()).bindBySqlType(9, r.predictionId(), Types.VARCHAR);
            return u.execute() == 1;
        });
    }

    /**
     * Writes a backfilled result, unless the row meanwhile got a result of its own or another shadow.
     *
     * @return whether it was written
     */
    public boolean backfill(String predictionId, Prediction.Shadow shadow) {
        return jdbi.withHandle(h -> {
            Update u = h.createUpdate(BACKFILL);
            bind(u, shadow).bindBySqlType(9, predictionId, Types.VARCHAR)
                    .bindBySqlType(10, shadow.modelVersionId(), Types.VARCHAR);
            return u.execute() == 1;
        });
    }

    /**
     * Reviewed (accepted or corrected) predictions of a deployment that its shadow skipped, or left pending since
     * before {@code stalePendingBefore} (a result lost in a restart), after the cursor {@code (reviewedAt, id)}, in
     * review order. Reads the {@code (deployment_id, reviewed_at, review_action)} index: reviews come at the pace of
     * people, so this range stays small however much traffic the shadow skipped.
     */
    public List<Missing> missing(String deploymentId, String shadowVersionId, Instant shadowSince,
            Instant afterReviewedAt, String afterId, Instant stalePendingBefore, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT id, label, input_content_type, input_sha256, reviewed_at FROM prediction
                WHERE deployment_id = :d AND reviewed_at >= :after AND review_action IN ('accept', 'correct')
                  AND shadow_model_version_id = :shadow AND created_at >= :since
                  AND (shadow_status = 'skipped' OR (shadow_status = 'pending' AND created_at < :stale))
                  AND (reviewed_at > :after OR id > :afterId)
                ORDER BY reviewed_at, id
                LIMIT :limit
                """).bind("d", deploymentId).bind("shadow", shadowVersionId).bind("since", Timestamp.from(shadowSince))
                .bind("after", Timestamp.from(afterReviewedAt)).bind("afterId", afterId)
                .bind("stale", Timestamp.from(stalePendingBefore)).bind("limit", limit)
                .map((rs, c) -> new Missing(rs.getString("id"), rs.getString("label"),
                        rs.getString("input_content_type"), rs.getString("input_sha256"),
                        rs.getTimestamp("reviewed_at").toInstant()))
                .list());
    }

    private static <T extends SqlStatement<T>> T bind(T statement, Prediction.Shadow s) {
        return statement.bindBySqlType(0, s.modelVersionId(), Types.VARCHAR)
                .bindBySqlType(1, s.status(), Types.VARCHAR)
                .bindBySqlType(2, s.label(), Types.VARCHAR)
                .bindBySqlType(3, s.confidence(), Types.DOUBLE)
                .bindBySqlType(4, s.scores() == null ? null : Json.write(s.scores()), Types.VARCHAR)
                .bindBySqlType(5, s.latencyMs(), Types.DOUBLE)
                .bindBySqlType(6, s.error(), Types.VARCHAR)
                .bindBySqlType(7, s.waitMs(), Types.DOUBLE)
                .bindBySqlType(8, s.backfilled(), Types.BOOLEAN);
    }
}
