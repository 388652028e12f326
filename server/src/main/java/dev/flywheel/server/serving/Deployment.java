package dev.flywheel.server.serving;

import java.time.Instant;

/**
 * A deployment: a named endpoint that serves its primary model version.
 *
 * @param id its id
 * @param name its unique name
 * @param primaryModelVersionId the version that answers predictions
 * @param shadowModelVersionId the version run beside it on the same inputs, or {@code null}
 * @param shadowSince when the current shadow was set (its live comparison counts from here), or {@code null}
 * @param previousPrimaryModelVersionId the primary before the last promotion, which a rollback restores, or
 *     {@code null}
 * @param settings how it serves, captures and fills its review queue
 * @param referenceDatasetVersionId the training data drift is measured against, or {@code null}
 * @param createdBy who created it
 * @param createdAt when
 */
public record Deployment(String id, String name, String primaryModelVersionId, String shadowModelVersionId,
        Instant shadowSince, String previousPrimaryModelVersionId, DeploymentSettings settings, String referenceDatasetVersionId, String createdBy, Instant createdAt) {}
