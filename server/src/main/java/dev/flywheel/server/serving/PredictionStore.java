package dev.flywheel.server.serving;

import dev.flywheel.server.http.Json;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/** The {@code prediction} table. */
public final class PredictionStore {

    private static final String COLUMNS = "id, deployment_id, model_version_id, source, status, label, confidence, "
            + "scores_json, latency_ms, input_content_type, input_sha256, input_size, created_at, review_bucket, "
            + "shadow_model_version_id, shadow_status, shadow_label, shadow_confidence, shadow_scores_json, "
            + "shadow_latency_ms, shadow_error, shadow_wait_ms";
    private static final int COLUMN_COUNT = 22;
    /** What a read returns: the inserted columns plus what reviews add later (the review store reads them too). */
    public static final String SELECT_COLUMNS = COLUMNS + ", review_action, reviewed_label, reviewed_by, reviewed_at, "
            + "flag_reason, flagged_by, flagged_at, submitted_at, shadow_backfilled";

    private final Jdbi jdbi;
    /**
     * On H2, a hint for the reads of a deployment's newest predictions without another equality filter. H2's
     * optimizer picks the single-column index of the foreign key to {@code deployment} for them, which cannot give
     * the rows by id, so it reads and sorts all of the deployment's rows (about a second at 100 000 rows); with
     * {@code prediction_deployment_id} it reads that index backwards and stops after LIMIT rows. PostgreSQL needs
     * no hint (and accepts none).
     */
    private final String newestHint;
    /**
     * Whether a commit must be followed by {@code CHECKPOINT SYNC}. H2 commits to memory and writes to the file
     * within its write delay (half a second), so a process killed after a commit lost what it had acknowledged; the
     * sync writes the committed changes to the file and fsyncs it, which PostgreSQL's commit already does.
     */
    private final boolean syncAfterCommit;

    public PredictionStore(Jdbi jdbi) {
        this.jdbi = jdbi;
        boolean h2 = dev.flywheel.server.persistence.Database.isH2(jdbi);
        this.newestHint = h2 ? " USE INDEX (prediction_deployment_id)" : "";
        this.syncAfterCommit = h2;
    }

    /**
     * Inserts predictions as one JDBC batch of one prepared statement in one transaction: one parse, one round trip
     * and one commit for the lot, and all or none of them stored. When it returns, the rows are on disk, on either
     * database: one fsync per batch (the writer's group commit) is what "durable" costs.
     */
    public void insertAll(List<Prediction> rows) {
        if (rows.isEmpty()) {
            return;
        }
        String sql = "INSERT INTO prediction (" + COLUMNS + ", input_inline) VALUES ("
                + "?, ".repeat(COLUMN_COUNT) + "?)";
        jdbi.useHandle(handle -> {
            handle.useTransaction(h -> insertBatch(h, sql, rows));
            if (syncAfterCommit) {
                handle.execute("CHECKPOINT SYNC");
            }
        });
    }

    private static void insertBatch(org.jdbi.v3.core.Handle h, String sql, List<Prediction> rows) {
        try (PreparedStatement ps = h.getConnection().prepareStatement(sql)) {
            for (Prediction r : rows) {
                int p = 1;
                ps.setString(p++, r.id());
                ps.setString(p++, r.deploymentId());
                ps.setString(p++, r.modelVersionId());
                ps.setString(p++, r.source());
                ps.setString(p++, r.status());
                ps.setString(p++, r.label());
                ps.setDouble(p++, r.confidence());
                ps.setString(p++, Json.write(r.scores()));
                setDouble(ps, p++, r.latencyMs());
                ps.setString(p++, r.inputContentType());
                ps.setString(p++, r.inputSha256());
                ps.setLong(p++, r.inputSize());
                ps.setTimestamp(p++, Timestamp.from(r.createdAt()));
                ps.setInt(p++, reviewBucket(r.id()));
                // A shadow result that was ready before the row was written joins it here (see ShadowRunner).
                Prediction.Shadow sh = r.shadow();
                ps.setString(p++, sh == null ? null : sh.modelVersionId());
                ps.setString(p++, sh == null ? null : sh.status());
                ps.setString(p++, sh == null ? null : sh.label());
                setDouble(ps, p++, sh == null ? null : sh.confidence());
                ps.setString(p++, sh == null || sh.scores() == null ? null : Json.write(sh.scores()));
                setDouble(ps, p++, sh == null ? null : sh.latencyMs());
                ps.setString(p++, sh == null ? null : sh.error());
                setDouble(ps, p++, sh == null ? null : sh.waitMs());
                if (r.inputInline() == null) {
                    ps.setNull(p, Types.BINARY);
                } else {
                    ps.setBytes(p, r.inputInline());
                }
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (SQLException e) {
            throw new org.jdbi.v3.core.statement.UnableToExecuteStatementException(e, null);
        }
    }

    private static void setDouble(PreparedStatement ps, int index, Double value) throws SQLException {
        if (value == null) {
            ps.setNull(index, Types.DOUBLE);
        } else {
            ps.setDouble(index, value);
        }
    }

    /** The input kept in a prediction's row, or {@code null} when it is in the blob store (or there is no row). */
    public byte[] inlineInput(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT input_inline FROM prediction WHERE id = :id").bind("id", id)
                .map((rs, c) -> rs.getBytes(1)).findOne().orElse(null));
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
            // A time range has its own index (deployment_id, created_at), which H2 picks by itself; the hint is for
            // the plain newest-first page, where it picks the foreign key's index and sorts.
            boolean byIdOnly = f.status() == null && f.modelVersionId() == null && f.label() == null
                    && f.since() == null && f.until() == null;
            var sql = new StringBuilder("SELECT " + SELECT_COLUMNS + " FROM prediction" + (byIdOnly ? newestHint : "")
                    + " WHERE deployment_id = :deployment");
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
            // The equality filter's index columns are spelled out in the ORDER BY so that H2 reads that index
            // backwards and stops after LIMIT rows; with "id DESC" alone it sorts every row of the deployment
            // (see ReviewStore.NEWEST_WAITING_FIRST). Several equality filters: the first one's index.
            String indexed = f.status() != null ? "status DESC, " : f.modelVersionId() != null
                    ? "model_version_id DESC, " : f.label() != null ? "label DESC, " : "";
            sql.append(" ORDER BY deployment_id DESC, ").append(indexed).append("id DESC LIMIT :limit");
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
     * A light view of predictions for statistics: the newest of a deployment, or the first a version made.
     *
     * @param versionId only this version's, oldest first; or {@code null} for the deployment's newest first
     */
    public List<Observation> observations(String deploymentId, String versionId, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT label, input_sha256, input_content_type, created_at, "
                + "input_inline FROM prediction" + (versionId == null ? newestHint : "") + " WHERE deployment_id = :d"
                + (versionId == null ? " ORDER BY deployment_id DESC, id DESC"
                        : " AND model_version_id = :v ORDER BY deployment_id, model_version_id, id") + " LIMIT :limit")
                .bind("d", deploymentId).bind("v", versionId).bind("limit", limit)
                .map((rs, c) -> new Observation(rs.getString("label"), rs.getString("input_sha256"),
                        rs.getString("input_content_type"), rs.getTimestamp("created_at").toInstant(),
                        rs.getBytes("input_inline")))
                .list());
    }

    /**
     * A prediction as statistics see it.
     *
     * @param label the predicted label
     * @param inputSha256 the stored input
     * @param contentType its media type
     * @param at when it was made
     * @param inputInline the input when it lives in the row, else {@code null} (read it from the blob store)
     */
    public record Observation(String label, String inputSha256, String contentType, java.time.Instant at,
            byte[] inputInline) {}

    /** How many review buckets there are: {@link #reviewBucket} is in {@code [0, REVIEW_BUCKETS)}. */
    public static final int REVIEW_BUCKETS = 10_000;

    /**
     * Where a prediction falls in 0..9999, from its id: review sampling takes the buckets below the sample rate, so a
     * prediction's membership never changes and needs no random state.
     */
    public static int reviewBucket(String predictionId) {
        return Math.floorMod(predictionId.hashCode() * 0x9E3779B1, REVIEW_BUCKETS);
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
                instant(rs, "submitted_at"), shadow(rs), null);
    }

    private static Prediction.Shadow shadow(ResultSet rs) throws SQLException {
        String version = rs.getString("shadow_model_version_id");
        if (version == null) {
            return null;
        }
        String scoresJson = rs.getString("shadow_scores_json");
        Map<String, Double> scores = null;
        if (scoresJson != null) {
            scores = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : Json.readMap(scoresJson).entrySet()) {
                scores.put(e.getKey(), ((Number) e.getValue()).doubleValue());
            }
        }
        return new Prediction.Shadow(version, rs.getString("shadow_status"), rs.getString("shadow_label"),
                nullableDouble(rs, "shadow_confidence"), scores, nullableDouble(rs, "shadow_latency_ms"),
                rs.getString("shadow_error"), nullableDouble(rs, "shadow_wait_ms"), rs.getBoolean("shadow_backfilled"));
    }

    private static Double nullableDouble(ResultSet rs, String column) throws SQLException {
        double v = rs.getDouble(column);
        return rs.wasNull() ? null : v;
    }

    private static java.time.Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
