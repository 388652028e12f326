package dev.flywheel.server.promotion;

import dev.flywheel.server.http.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/** The {@code continuous_deployment} table. */
public final class ContinuousDeploymentStore {

    private final Jdbi jdbi;

    public ContinuousDeploymentStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public Optional<ContinuousDeployment> find(String deploymentId) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM continuous_deployment WHERE deployment_id = :d")
                .bind("d", deploymentId).map((rs, c) -> map(rs)).findOne());
    }

    /** Creates the configuration (inactive) or replaces it, keeping whether it is active and its last decision. */
    public void save(String deploymentId, String policy, String promoter, Map<String, Object> settings,
            String interval, String by, Instant at) {
        String json = Json.write(settings);
        jdbi.useTransaction(h -> {
            int updated = h.createUpdate("""
                    UPDATE continuous_deployment SET policy = :policy, promoter = :promoter, settings_json = :settings,
                           evaluation_interval = :interval, updated_by = :by, updated_at = :at
                    WHERE deployment_id = :d
                    """).bind("d", deploymentId).bind("policy", policy).bind("promoter", promoter)
                    .bind("settings", json).bind("interval", interval).bind("by", by).bind("at", Timestamp.from(at))
                    .execute();
            if (updated == 0) {
                h.createUpdate("""
                        INSERT INTO continuous_deployment (deployment_id, policy, promoter, settings_json,
                            evaluation_interval, active, created_by, created_at, updated_by, updated_at)
                        VALUES (:d, :policy, :promoter, :settings, :interval, FALSE, :by, :at, :by, :at)
                        """).bind("d", deploymentId).bind("policy", policy).bind("promoter", promoter)
                        .bind("settings", json).bind("interval", interval).bind("by", by)
                        .bind("at", Timestamp.from(at)).execute();
            }
        });
    }

    public void setActive(String deploymentId, boolean active, String by, Instant at) {
        jdbi.useHandle(h -> h.createUpdate("""
                UPDATE continuous_deployment SET active = :active, updated_by = :by, updated_at = :at
                WHERE deployment_id = :d
                """).bind("d", deploymentId).bind("active", active).bind("by", by).bind("at", Timestamp.from(at))
                .execute());
    }

    public void setLastDecision(String deploymentId, Map<String, Object> decision) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE continuous_deployment SET last_decision_json = :j WHERE deployment_id = :d")
                .bind("d", deploymentId).bind("j", Json.write(decision)).execute());
    }

    private static ContinuousDeployment map(ResultSet rs) throws SQLException {
        String last = rs.getString("last_decision_json");
        return new ContinuousDeployment(rs.getString("deployment_id"), rs.getString("policy"),
                rs.getString("promoter"), Json.readMap(rs.getString("settings_json")),
                rs.getString("evaluation_interval"), rs.getBoolean("active"), last == null ? null : Json.readMap(last),
                rs.getString("created_by"), rs.getTimestamp("created_at").toInstant(), rs.getString("updated_by"),
                rs.getTimestamp("updated_at").toInstant());
    }
}
