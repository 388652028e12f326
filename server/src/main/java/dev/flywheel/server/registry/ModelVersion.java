package dev.flywheel.server.registry;

import java.time.Instant;
import java.util.Map;

/**
 * An immutable version of a model: its artifact (a content-addressed blob) and its {@code model.json}.
 *
 * @param id its id
 * @param modelId the model it belongs to
 * @param version its number within the model: 1, 2, …
 * @param format the artifact format, such as {@code torchscript}
 * @param metadata the normalised {@code model.json}
 * @param artifactFile the artifact's file name in the model directory ({@code model.pt}, {@code model.zip})
 * @param artifactSha256 the artifact blob's address
 * @param artifactSize the artifact's size in bytes
 * @param parentVersionId the version it was trained from, or {@code null}
 * @param trainingRunId the run that trained it, or {@code null}
 * @param createdBy who registered it
 * @param createdAt when
 */
public record ModelVersion(
        String id,
        String modelId,
        int version,
        String format,
        Map<String, Object> metadata,
        String artifactFile,
        String artifactSha256,
        long artifactSize,
        String parentVersionId,
        String trainingRunId,
        String createdBy,
        Instant createdAt) {}
