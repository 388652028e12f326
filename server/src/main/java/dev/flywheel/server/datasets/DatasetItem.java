package dev.flywheel.server.datasets;

import java.time.Instant;

/**
 * One training example.
 *
 * @param id its id
 * @param seq its position in the version (the high-water mark unit)
 * @param datasetVersionId the version
 * @param assetSha256 the blob holding the asset: exactly a predict payload
 * @param contentType the asset's media type ({@code application/json} for features, {@code image/png} or
 *     {@code image/jpeg})
 * @param assetSize its length in bytes
 * @param label the ground-truth label
 * @param split {@code train} or {@code validation}
 * @param sourcePredictionId the prediction it came from, or {@code null} when added by hand
 * @param createdBy who added it
 * @param createdAt when
 */
public record DatasetItem(
        String id,
        long seq,
        String datasetVersionId,
        String assetSha256,
        String contentType,
        long assetSize,
        String label,
        String split,
        String sourcePredictionId,
        String createdBy,
        Instant createdAt) {}
