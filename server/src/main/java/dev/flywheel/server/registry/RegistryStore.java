package dev.flywheel.server.registry;

import dev.flywheel.server.http.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;
import org.jdbi.v3.core.Jdbi;

/** The {@code model} and {@code model_version} tables. */
public final class RegistryStore {

    private static final String MODEL_COLUMNS = """
            m.id, m.name, m.created_by, m.created_at,
            (SELECT MAX(v.version) FROM model_version v WHERE v.model_id = m.id) AS latest_version
            """;

    private final Jdbi jdbi;

    public RegistryStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public void insertModel(String id, String name, String createdBy, Instant createdAt) {
        jdbi.useHandle(h -> h.createUpdate("""
                INSERT INTO model (id, name, created_by, created_at) VALUES (:id, :name, :createdBy, :createdAt)
                """)
                .bind("id", id).bind("name", name).bind("createdBy", createdBy)
                .bind("createdAt", Timestamp.from(createdAt))
                .execute());
    }

    public Optional<Model> findModel(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + MODEL_COLUMNS + " FROM model m WHERE m.id = :id")
                .bind("id", id).map((rs, c) -> model(rs)).findOne());
    }

    public boolean modelNameExists(String name) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM model WHERE name = :name")
                .bind("name", name).mapTo(Long.class).one()) > 0;
    }

    /** Models in creation order (ids are time-ordered), after the given id. */
    public List<Model> listModels(String afterId, int limit) {
        return jdbi.withHandle(h -> h.createQuery("SELECT " + MODEL_COLUMNS + """
                 FROM model m WHERE (CAST(:after AS VARCHAR) IS NULL OR m.id > :after) ORDER BY m.id LIMIT :limit
                """).bind("after", afterId).bind("limit", limit).map((rs, c) -> model(rs)).list());
    }

    /**
     * Inserts a version with the next number of its model. The model's row is locked for the transaction, so two
     * concurrent uploads get different numbers rather than one failing on the unique constraint.
     *
     * @param row builds the version from its number
     * @return the stored version
     */
    public ModelVersion insertNextVersion(String modelId, IntFunction<ModelVersion> row) {
        return jdbi.inTransaction(h -> {
            h.createQuery("SELECT id FROM model WHERE id = :id FOR UPDATE").bind("id", modelId)
                    .mapTo(String.class).one();
            int next = h.createQuery("SELECT COALESCE(MAX(version), 0) + 1 FROM model_version WHERE model_id = :id")
                    .bind("id", modelId).mapTo(Integer.class).one();
            ModelVersion v = row.apply(next);
            h.createUpdate("""
                    INSERT INTO model_version (id, model_id, version, format, metadata_json, artifact_file,
                                               artifact_sha256, artifact_size, parent_version_id, training_run_id,
                                               created_by, created_at)
                    VALUES (:id, :model, :version, :format, :metadata, :file, :sha, :size, :parent, :run,
                            :createdBy, :createdAt)
                    """)
                    .bind("id", v.id())
                    .bind("model", v.modelId())
                    .bind("version", v.version())
                    .bind("format", v.format())
                    .bind("metadata", Json.write(v.metadata()))
                    .bind("file", v.artifactFile())
                    .bind("sha", v.artifactSha256())
                    .bind("size", v.artifactSize())
                    .bind("parent", v.parentVersionId())
                    .bind("run", v.trainingRunId())
                    .bind("createdBy", v.createdBy())
                    .bind("createdAt", Timestamp.from(v.createdAt()))
                    .execute();
            return v;
        });
    }

    public Optional<ModelVersion> findVersion(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM model_version WHERE id = :id")
                .bind("id", id).map((rs, c) -> version(rs)).findOne());
    }

    /** A model's versions by number, after the given number. */
    public List<ModelVersion> listVersions(String modelId, int afterVersion, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT * FROM model_version WHERE model_id = :model AND version > :after ORDER BY version LIMIT :limit
                """).bind("model", modelId).bind("after", afterVersion).bind("limit", limit)
                .map((rs, c) -> version(rs)).list());
    }

    private static Model model(ResultSet rs) throws SQLException {
        int number = rs.getInt("latest_version");
        Integer latest = rs.wasNull() ? null : number;
        return new Model(rs.getString("id"), rs.getString("name"), latest,
                rs.getString("created_by"), rs.getTimestamp("created_at").toInstant());
    }

    private static ModelVersion version(ResultSet rs) throws SQLException {
        return new ModelVersion(rs.getString("id"), rs.getString("model_id"), rs.getInt("version"),
                rs.getString("format"), Json.readMap(rs.getString("metadata_json")), rs.getString("artifact_file"),
                rs.getString("artifact_sha256"), rs.getLong("artifact_size"), rs.getString("parent_version_id"),
                rs.getString("training_run_id"), rs.getString("created_by"),
                rs.getTimestamp("created_at").toInstant());
    }
}
