package dev.flywheel.server.shadow;

import dev.flywheel.server.http.Json;
import dev.flywheel.server.serving.Prediction;
import java.sql.Types;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.Update;

/** The shadow columns of the {@code prediction} table. */
public final class ShadowStore {

    private static final String UPDATE = """
            UPDATE prediction SET shadow_model_version_id = ?, shadow_status = ?, shadow_label = ?,
                                  shadow_confidence = ?, shadow_scores_json = ?, shadow_latency_ms = ?, shadow_error = ?
            WHERE id = ?
            """;

    private final Jdbi jdbi;

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
                Prediction.Shadow s = r.shadow();
                batch.bindBySqlType(0, s.modelVersionId(), Types.VARCHAR)
                        .bindBySqlType(1, s.status(), Types.VARCHAR)
                        .bindBySqlType(2, s.label(), Types.VARCHAR)
                        .bindBySqlType(3, s.confidence(), Types.DOUBLE)
                        .bindBySqlType(4, s.scores() == null ? null : Json.write(s.scores()), Types.VARCHAR)
                        .bindBySqlType(5, s.latencyMs(), Types.DOUBLE)
                        .bindBySqlType(6, s.error(), Types.VARCHAR)
                        .bindBySqlType(7, r.predictionId(), Types.VARCHAR)
                        .add();
            }
            return batch.execute();
        });
    }

    /** Writes one shadow result at once (the on-demand run); returns whether the row exists. */
    public boolean update(ShadowResult r) {
        return jdbi.withHandle(h -> {
            Prediction.Shadow s = r.shadow();
            Update u = h.createUpdate(UPDATE);
            u.bindBySqlType(0, s.modelVersionId(), Types.VARCHAR)
                    .bindBySqlType(1, s.status(), Types.VARCHAR)
                    .bindBySqlType(2, s.label(), Types.VARCHAR)
                    .bindBySqlType(3, s.confidence(), Types.DOUBLE)
                    .bindBySqlType(4, s.scores() == null ? null : Json.write(s.scores()), Types.VARCHAR)
                    .bindBySqlType(5, s.latencyMs(), Types.DOUBLE)
                    .bindBySqlType(6, s.error(), Types.VARCHAR)
                    .bindBySqlType(7, r.predictionId(), Types.VARCHAR);
            return u.execute() == 1;
        });
    }
}
