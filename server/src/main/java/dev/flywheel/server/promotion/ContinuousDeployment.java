package dev.flywheel.server.promotion;

import java.time.Instant;
import java.util.Map;

/**
 * A deployment's continuous deployment: what happens to the versions continuous training makes, and the promoter
 * that decides whether a shadow replaces the primary.
 *
 * @param deploymentId the deployment
 * @param policy {@code shadow} (a new version becomes the shadow), {@code champion} (it becomes the primary at once)
 *     or {@code manual} (it is only registered)
 * @param promoter the promotion policy extension's type, such as {@code paired}
 * @param settings the promoter's settings, validated against its schema, with defaults filled in
 * @param evaluationInterval how often the promoter is asked while a shadow is under evaluation (ISO-8601); it is also
 *     asked right after reviews
 * @param active whether new versions follow the policy and the promoter is asked
 * @param lastDecision the last recorded decision, or {@code null}
 * @param rollback the automatic rollback's settings ({@link RollbackSettings}), defaults filled in
 * @param bake the watch over the primary last promoted automatically: under way, or how it ended; {@code null} before
 *     the first
 * @param lastRejection why the last candidate was turned away, or {@code null}
 * @param createdBy who set it up
 * @param createdAt when
 * @param updatedBy who changed it last
 * @param updatedAt when
 */
public record ContinuousDeployment(String deploymentId, String policy, String promoter, Map<String, Object> settings,
        String evaluationInterval, boolean active, LastDecision lastDecision, Map<String, Object> rollback,
        Bake bake, Rejection lastRejection, String createdBy, Instant createdAt, String updatedBy,
        Instant updatedAt) {

    public static final String SHADOW = "shadow";
    public static final String CHAMPION = "champion";
    public static final String MANUAL = "manual";

    /** The rollback settings, typed. */
    public RollbackSettings rollbackSettings() {
        return RollbackSettings.from(rollback);
    }
}
