package dev.flywheel.spi.provisioner;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A training job to run.
 *
 * @param runId the training run's id
 * @param runName the run's name, such as {@code auto-retrain-v3}
 * @param gpuType the requested GPU type, or {@code null} for CPU
 * @param allowCpuFallback whether to run on CPU when the GPU type is not available
 * @param command the job wrapper's command line (it talks to the server over REST with a run token)
 * @param environment variables the job needs, including the server URL and the run token
 * @param image the container image for provisioners that run containers; {@code null} for the default
 * @param timeout the longest the job may run before it is cancelled, or {@code null} for no limit (the server
 *     always sets one and also enforces it itself)
 */
public record TrainingJobSpec(
        String runId,
        String runName,
        String gpuType,
        boolean allowCpuFallback,
        List<String> command,
        Map<String, String> environment,
        String image,
        Duration timeout) {
    public TrainingJobSpec {
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
    }
}
