package dev.flywheel.server.serving;

import dev.flywheel.server.http.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/** The {@code deployment} table. */
public final class DeploymentStore {

    private final Jdbi jdbi;

    public DeploymentStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public void insert(Deployment d) {
        jdbi.useHandle(h -> h.createUpdate("""
                INSERT INTO deployment (id, name, primary_model_version_id, shadow_model_version_id, settings_json,
                                        created_by, created_at)
                VALUES (:id, :name, :primary, :shadow, :settings, :createdBy, :createdAt)
                """)
                .bind("id", d.id())
                .bind("name", d.name())
                .bind("primary", d.primaryModelVersionId())
                .bind("shadow", d.shadowModelVersionId())
                .bind("settings", Json.write(d.settings().toMap()))
                .bind("createdBy", d.createdBy())
                .bind("createdAt", Timestamp.from(d.createdAt()))
                .execute());
    }

    public Optional<Deployment> find(String id) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM deployment WHERE id = :id")
                .bind("id", id).map((rs, c) -> map(rs)).findOne());
    }

    public boolean nameExists(String name) {
        return jdbi.withHandle(h -> h.createQuery("SELECT COUNT(*) FROM deployment WHERE name = :name")
                .bind("name", name).mapTo(Long.class).one()) > 0;
    }

    public void updateSettings(String id, DeploymentSettings settings) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE deployment SET settings_json = :s WHERE id = :id")
                .bind("s", Json.write(settings.toMap())).bind("id", id).execute());
    }

    public void updateReference(String id, String datasetVersionId) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE deployment SET reference_dataset_version_id = :v WHERE id = :id")
                .bind("v", datasetVersionId).bind("id", id).execute());
    }

    /** Deployments in creation order (ids are time-ordered), after the given id. */
    public List<Deployment> list(String afterId, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT * FROM deployment WHERE (CAST(:after AS VARCHAR) IS NULL OR id > :after) ORDER BY id LIMIT :limit
                """).bind("after", afterId).bind("limit", limit).map((rs, c) -> map(rs)).list());
    }

    private static Deployment map(ResultSet rs) throws SQLException {
        return new Deployment(rs.getString("id"), rs.getString("name"), rs.getString("primary_model_version_id"),
                rs.getString("shadow_model_version_id"), DeploymentSettings.from(Json.readMap(rs.getString("settings_json"))),
                rs.getString("reference_dataset_version_id"), rs.getString("created_by"), rs.getTimestamp("created_at").toInstant());
    }
}
