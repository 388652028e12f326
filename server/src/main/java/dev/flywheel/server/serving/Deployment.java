package dev.flywheel.server.serving;

import java.time.Instant;

/**
 * A deployment: a named endpoint that serves its primary model version.
 *
 * @param id its id
 * @param name its unique name
 * @param primaryModelVersionId the version that answers predictions
 * @param shadowModelVersionId the version run beside it on the same inputs, or {@code null}
 * @param settings how it serves and captures
 * @param createdBy who created it
 * @param createdAt when
 */
public record Deployment(String id, String name, String primaryModelVersionId, String shadowModelVersionId,
        DeploymentSettings settings, String createdBy, Instant createdAt) {}
