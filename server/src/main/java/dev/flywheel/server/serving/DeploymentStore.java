package dev.flywheel.server.serving;

import dev.flywheel.server.http.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
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

    /**
     * Sets or removes the shadow, unless it was changed meanwhile.
     *
     * @param expectedShadow the shadow the caller saw (may be {@code null})
     * @param shadow the new shadow, or {@code null} to remove it
     * @param since when the new shadow's comparison starts, or {@code null}
     * @return whether the shadow was still {@code expectedShadow} and is now changed
     */
    public boolean setShadow(String id, String expectedShadow, String shadow, Instant since) {
        return jdbi.withHandle(h -> h.createUpdate("""
                UPDATE deployment SET shadow_model_version_id = :shadow, shadow_since = :since
                WHERE id = :id AND (shadow_model_version_id = :expected
                                    OR (shadow_model_version_id IS NULL AND CAST(:expected AS VARCHAR) IS NULL))
                """).bind("id", id).bind("expected", expectedShadow).bind("shadow", shadow)
                .bind("since", since == null ? null : Timestamp.from(since)).execute()) == 1;
    }

    /**
     * Makes another version the primary in one statement, keeping the old one for a rollback, unless the primary was
     * changed meanwhile (a compare-and-set, so that two promotions racing cannot both win). A shadow that becomes the
     * primary is removed; any other shadow stays, and its comparison restarts at {@code now} because its primary
     * changed.
     *
     * @return whether the primary was still {@code expectedPrimary} and is now {@code newPrimary}
     */
    public boolean replacePrimary(String id, String expectedPrimary, String newPrimary, Instant now) {
        return jdbi.withHandle(h -> h.createUpdate("""
                UPDATE deployment SET
                    previous_primary_model_version_id = primary_model_version_id,
                    primary_model_version_id = :next,
                    shadow_model_version_id = CASE WHEN shadow_model_version_id = :next THEN NULL
                                                   ELSE shadow_model_version_id END,
                    shadow_since = CASE WHEN shadow_model_version_id IS NULL OR shadow_model_version_id = :next
                                        THEN NULL
                                        ELSE CAST(:now AS TIMESTAMP WITH TIME ZONE) END
                WHERE id = :id AND primary_model_version_id = :expected
                """).bind("id", id).bind("expected", expectedPrimary).bind("next", newPrimary)
                .bind("now", Timestamp.from(now)).execute()) == 1;
    }

    /**
     * Restores the previous primary, unless the primary was changed meanwhile; afterwards there is no previous primary
     * (a second rollback has nothing to restore). A shadow stays, its comparison restarting at {@code now}; a shadow
     * that is the restored version is removed.
     *
     * @return whether the rollback happened
     */
    public boolean rollback(String id, String expectedPrimary, String previous, Instant now) {
        return jdbi.withHandle(h -> h.createUpdate("""
                UPDATE deployment SET
                    primary_model_version_id = :previous,
                    previous_primary_model_version_id = NULL,
                    shadow_model_version_id = CASE WHEN shadow_model_version_id = :previous THEN NULL
                                                   ELSE shadow_model_version_id END,
                    shadow_since = CASE WHEN shadow_model_version_id IS NULL OR shadow_model_version_id = :previous
                                        THEN NULL
                                        ELSE CAST(:now AS TIMESTAMP WITH TIME ZONE) END
                WHERE id = :id AND primary_model_version_id = :expected
                  AND previous_primary_model_version_id = :previous
                """).bind("id", id).bind("expected", expectedPrimary).bind("previous", previous)
                .bind("now", Timestamp.from(now)).execute()) == 1;
    }

    /** Deployments in creation order (ids are time-ordered), after the given id. */
    public List<Deployment> list(String afterId, int limit) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT * FROM deployment WHERE (CAST(:after AS VARCHAR) IS NULL OR id > :after) ORDER BY id LIMIT :limit
                """).bind("after", afterId).bind("limit", limit).map((rs, c) -> map(rs)).list());
    }

    /** Deployments that have a shadow now. */
    public List<Deployment> shadowed() {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM deployment WHERE shadow_model_version_id IS NOT NULL "
                + "ORDER BY id").map((rs, c) -> map(rs)).list());
    }

    private static Deployment map(ResultSet rs) throws SQLException {
        Timestamp shadowSince = rs.getTimestamp("shadow_since");
        return new Deployment(rs.getString("id"), rs.getString("name"), rs.getString("primary_model_version_id"),
                rs.getString("shadow_model_version_id"), shadowSince == null ? null : shadowSince.toInstant(),
                rs.getString("previous_primary_model_version_id"), DeploymentSettings.from(Json.readMap(rs.getString("settings_json"))),
                rs.getString("reference_dataset_version_id"), rs.getString("created_by"), rs.getTimestamp("created_at").toInstant());
    }
}
