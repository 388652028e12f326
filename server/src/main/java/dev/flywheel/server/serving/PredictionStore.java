package dev.flywheel.server.serving;

import dev.flywheel.server.http.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;
import org.jdbi.v3.core.statement.Update;

/** The {@code prediction} table. */
public final class PredictionStore {

    private static final String COLUMNS = "id, deployment_id, model_version_id, source, status, label, confidence, "
            + "scores_json, latency_ms, input_content_type, input_sha256, input_size, created_at, review_bucket";
    private static final int COLUMN_COUNT = 14;
    /** What a read returns: the inserted columns plus what reviews add later (the review store reads them too). */
    public static final String SELECT_COLUMNS = COLUMNS + ", review_action, reviewed_label, reviewed_by, reviewed_at, "
            + "flag_reason, flagged_by, flagged_at, submitted_at";

    private final Jdbi jdbi;

    public PredictionStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /**
     * Inserts predictions with one multi-row statement: one round trip and one commit for the lot, and all or none
     * of them stored.
     */
    public void insertAll(List<Prediction> rows) {
        if (rows.isEmpty()) {
            return;
        }
        var sql = new StringBuilder("INSERT INTO prediction (").append(COLUMNS).append(") VALUES ");
        String tuple = "(" + "?, ".repeat(COLUMN_COUNT - 1) + "?)";
        for (int i = 0; i < rows.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append(tuple);
        }
        jdbi.useHandle(h -> {
            Update u = h.createUpdate(sql.toString());
            int p = 0;
            for (Prediction r : rows) {
                u.bind(p++, r.id());
                u.bind(p++, r.deploymentId());
                u.bind(p++, r.modelVersionId());
                u.bind(p++, r.source());
                u.bind(p++, r.status());
                u.bind(p++, r.label());
                u.bind(p++, r.confidence());
                u.bind(p++, Json.write(r.scores()));
                u.bind(p++, r.latencyMs());
                u.bind(p++, r.inputContentType());
                u.bind(p++, r.inputSha256());
                u.bind(p++, r.inputSize());
                u.bind(p++, Timestamp.from(r.createdAt()));
                u.bind(p++, reviewBucket(r.id()));
            }
            u.execute();
        });
    }

    public Optional<Prediction> find(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + SELECT_COLUMNS + " FROM prediction WHERE id = :id")
                .bind("id", id).map((rs, c) -> map(rs)).findOne());
    }

    /**
     * A deployment's predictions, newest first.
     *
     * @param beforeId only older than this id, or {@code null}
     */
    public List<Prediction> list(String deploymentId, PredictionFilter f, String beforeId, int limit) {
        return jdbi.withHandle(h -> {
            var sql = new StringBuilder("SELECT " + SELECT_COLUMNS + " FROM prediction WHERE deployment_id = :deployment");
            if (f.status() != null) {
                sql.append(" AND status = :status");
            }
            if (f.modelVersionId() != null) {
                sql.append(" AND model_version_id = :version");
            }
            if (f.since() != null) {
                sql.append(" AND created_at >= :since");
            }
            if (f.until() != null) {
                sql.append(" AND created_at < :until");
            }
            if (f.label() != null) {
                sql.append(" AND label = :label");
            }
            if (f.confidenceBelow() != null) {
                sql.append(" AND confidence < :below");
            }
            if (beforeId != null) {
                sql.append(" AND id < :before");
            }
            sql.append(" ORDER BY id DESC LIMIT :limit");
            Query q = h.createQuery(sql.toString()).bind("deployment", deploymentId);
            if (f.status() != null) {
                q.bind("status", f.status());
            }
            if (f.modelVersionId() != null) {
                q.bind("version", f.modelVersionId());
            }
            if (f.since() != null) {
                q.bind("since", Timestamp.from(f.since()));
            }
            if (f.until() != null) {
                q.bind("until", Timestamp.from(f.until()));
            }
            if (f.label() != null) {
                q.bind("label", f.label());
            }
            if (f.confidenceBelow() != null) {
                q.bind("below", f.confidenceBelow());
            }
            if (beforeId != null) {
                q.bind("before", beforeId);
            }
            return q.bind("limit", limit).map((rs, c) -> map(rs)).list();
        });
    }

    /**
     * Where a prediction falls in 0..9999, from its id: review sampling takes the buckets below the sample rate, so a
     * prediction's membership never changes and needs no random state.
     */
    public static int reviewBucket(String predictionId) {
        return Math.floorMod(predictionId.hashCode() * 0x9E3779B1, 10_000);
    }

    public static Prediction map(ResultSet rs) throws SQLException {
        double latency = rs.getDouble("latency_ms");
        Double latencyMs = rs.wasNull() ? null : latency;
        var scores = new LinkedHashMap<String, Double>();
        for (Map.Entry<String, Object> e : Json.readMap(rs.getString("scores_json")).entrySet()) {
            scores.put(e.getKey(), ((Number) e.getValue()).doubleValue());
        }
        return new Prediction(rs.getString("id"), rs.getString("deployment_id"), rs.getString("model_version_id"),
                rs.getString("source"), rs.getString("status"), rs.getString("label"), rs.getDouble("confidence"),
                scores, latencyMs, rs.getString("input_content_type"), rs.getString("input_sha256"),
                rs.getLong("input_size"), rs.getTimestamp("created_at").toInstant(),
                rs.getString("review_action") == null ? null : new Prediction.Review(rs.getString("review_action"),
                        rs.getString("reviewed_label"), rs.getString("reviewed_by"), instant(rs, "reviewed_at")),
                rs.getString("flag_reason") == null ? null : new Prediction.Flag(rs.getString("flag_reason"),
                        rs.getString("flagged_by"), instant(rs, "flagged_at")),
                instant(rs, "submitted_at"));
    }

    private static java.time.Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
