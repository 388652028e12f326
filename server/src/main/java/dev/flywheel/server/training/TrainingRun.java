package dev.flywheel.server.training;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One training run.
 *
 * @param id its id
 * @param deploymentId the deployment it trains for
 * @param number its number among the deployment's runs (the {@code {n}} of its name)
 * @param name its name, from the experiment name template
 * @param status QUEUED, PROVISIONING, RUNNING, SUCCEEDED, FAILED or CANCELLED
 * @param trigger what started it and why, with the evidence
 * @param baseModelVersionId the version it trains from (the primary when it was created)
 * @param datasetVersions the dataset versions it trains on and how far it reads each
 * @param provisioner the GPU provisioner extension's type
 * @param gpuType the requested GPU type, or {@code null} for CPU
 * @param device the device the job actually used, once known
 * @param trainer what trains
 * @param attempts how many times it was submitted to the provisioner
 * @param message why it failed or was cancelled, or other news
 * @param metrics the trainer's metrics, such as {@code val_accuracy} and {@code base_val_accuracy}
 * @param resultModelVersionId the version it registered, or {@code null}
 * @param createdBy who or what created it
 * @param createdAt when
 * @param startedAt when its job started
 * @param finishedAt when it ended
 */
public record TrainingRun(
        String id,
        String deploymentId,
        int number,
        String name,
        String status,
        Trigger trigger,
        String baseModelVersionId,
        List<DatasetSnapshot> datasetVersions,
        String provisioner,
        String gpuType,
        String device,
        TrainerSpec trainer,
        int attempts,
        String message,
        Map<String, Object> metrics,
        String resultModelVersionId,
        String createdBy,
        Instant createdAt,
        Instant startedAt,
        Instant finishedAt) {

    public static final String QUEUED = "QUEUED";
    public static final String PROVISIONING = "PROVISIONING";
    public static final String RUNNING = "RUNNING";
    public static final String SUCCEEDED = "SUCCEEDED";
    public static final String FAILED = "FAILED";
    public static final String CANCELLED = "CANCELLED";
    public static final List<String> IN_FLIGHT = List.of(QUEUED, PROVISIONING, RUNNING);

    /** Whether the run has ended. */
    public boolean finished() {
        return !IN_FLIGHT.contains(status);
    }

    /**
     * What started a run.
     *
     * @param type the trigger type, or {@code manual}
     * @param reason one sentence for people
     * @param evidence the numbers behind it
     */
    public record Trigger(String type, String reason, Map<String, Object> evidence) {}

    /**
     * A dataset version as a run sees it.
     *
     * @param datasetVersionId the dataset version
     * @param highWaterMark the position of its last item when the run was created: the run reads up to there
     */
    public record DatasetSnapshot(String datasetVersionId, long highWaterMark) {}
}
