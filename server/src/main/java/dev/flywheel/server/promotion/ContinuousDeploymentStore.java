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
            String interval, Map<String, Object> rollback, String by, Instant at) {
        String json = Json.write(settings);
        String rollbackJson = Json.write(rollback);
        jdbi.useTransaction(h -> {
            int updated = h.createUpdate("""
                    UPDATE continuous_deployment SET policy = :policy, promoter = :promoter, settings_json = :settings,
                           evaluation_interval = :interval, rollback_json = :rollback, updated_by = :by,
                           updated_at = :at
                    WHERE deployment_id = :d
                    """).bind("d", deploymentId).bind("policy", policy).bind("promoter", promoter)
                    .bind("settings", json).bind("interval", interval).bind("rollback", rollbackJson).bind("by", by)
                    .bind("at", Timestamp.from(at)).execute();
            if (updated == 0) {
                h.createUpdate("""
                        INSERT INTO continuous_deployment (deployment_id, policy, promoter, settings_json,
                            evaluation_interval, rollback_json, active, created_by, created_at, updated_by, updated_at)
                        VALUES (:d, :policy, :promoter, :settings, :interval, :rollback, FALSE, :by, :at, :by, :at)
                        """).bind("d", deploymentId).bind("policy", policy).bind("promoter", promoter)
                        .bind("settings", json).bind("interval", interval).bind("rollback", rollbackJson)
                        .bind("by", by).bind("at", Timestamp.from(at)).execute();
            }
        });
    }

    /** Stores the bake under way, or how the last one ended. */
    public void setBake(String deploymentId, Bake bake) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE continuous_deployment SET bake_json = :j WHERE deployment_id = :d")
                .bind("d", deploymentId).bind("j", bake == null ? null : Json.write(bake)).execute());
    }

    /** Stores why the last candidate was turned away. */
    public void setLastRejection(String deploymentId, Rejection rejection) {
        jdbi.useHandle(h -> h.createUpdate(
                "UPDATE continuous_deployment SET last_rejection_json = :j WHERE deployment_id = :d")
                .bind("d", deploymentId).bind("j", Json.write(rejection)).execute());
    }

    public void setActive(String deploymentId, boolean active, String by, Instant at) {
        jdbi.useHandle(h -> h.createUpdate("""
                UPDATE continuous_deployment SET active = :active, updated_by = :by, updated_at = :at
                WHERE deployment_id = :d
                """).bind("d", deploymentId).bind("active", active).bind("by", by).bind("at", Timestamp.from(at))
                .execute());
    }

    public void setLastDecision(String deploymentId, LastDecision decision) {
        jdbi.useHandle(h -> h.createUpdate("UPDATE continuous_deployment SET last_decision_json = :j WHERE deployment_id = :d")
                .bind("d", deploymentId).bind("j", Json.write(decision)).execute());
    }

    private static <T> T read(String json, Class<T> type) {
        try {
            return Json.mapper().readValue(json, type);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("stored " + type.getSimpleName() + " is corrupt: " + e.getOriginalMessage(),
                    e);
        }
    }

    private static ContinuousDeployment map(ResultSet rs) throws SQLException {
        String last = rs.getString("last_decision_json");
        String bake = rs.getString("bake_json");
        String rejection = rs.getString("last_rejection_json");
        // Rows from before automatic rollback existed have no settings: the defaults apply.
        Map<String, Object> rollback = RollbackSettings.from(Json.readMap(rs.getString("rollback_json"))).asMap();
        return new ContinuousDeployment(rs.getString("deployment_id"), rs.getString("policy"),
                rs.getString("promoter"), Json.readMap(rs.getString("settings_json")),
                rs.getString("evaluation_interval"), rs.getBoolean("active"),
                last == null ? null : read(last, LastDecision.class), rollback,
                bake == null ? null : read(bake, Bake.class), rejection == null ? null : read(rejection, Rejection.class),
                rs.getString("created_by"), rs.getTimestamp("created_at").toInstant(), rs.getString("updated_by"),
                rs.getTimestamp("updated_at").toInstant());
    }
}
