package dev.flywheel.server.datasets;

import java.time.Instant;
import java.util.List;

/**
 * One version of a dataset: the items training runs read.
 *
 * @param id its id
 * @param datasetId the dataset
 * @param name its name within the dataset, such as {@code v1} or {@code production-feedback}
 * @param labels the permitted labels, or {@code null} for any
 * @param validationFraction the share of items put in the validation split when an item does not say
 * @param itemCount how many items it holds now
 * @param highWaterMark the position of its newest item (0 when empty); a run records it to know what it saw
 * @param trainCount items in the train split
 * @param validationCount items in the validation split
 * @param createdBy who created it
 * @param createdAt when
 */
public record DatasetVersion(
        String id,
        String datasetId,
        String name,
        List<String> labels,
        double validationFraction,
        long itemCount,
        long highWaterMark,
        long trainCount,
        long validationCount,
        String createdBy,
        Instant createdAt) {}
