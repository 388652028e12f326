package dev.flywheel.server.registry;

import java.util.List;

/**
 * Where a model version came from: the version it was trained from, the run that trained it, and the dataset
 * versions that run used. Uploads by hand have none of them.
 *
 * @param modelVersionId the version described
 * @param modelId its model
 * @param version its number
 * @param parentVersionId the version it was trained from, or {@code null}
 * @param trainingRunId the training run, or {@code null}
 * @param datasetVersionIds the dataset versions the run trained on
 */
public record Lineage(String modelVersionId, String modelId, int version, String parentVersionId,
        String trainingRunId, List<String> datasetVersionIds) {}
