package dev.flywheel.server.training;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A deployment's continuous training settings.
 *
 * @param deploymentId the deployment
 * @param active whether triggers are evaluated
 * @param experimentName the run name template; {@code {n}} is the deployment's run counter
 * @param gpuType the GPU type to train on, or {@code null} for CPU
 * @param allowCpuFallback whether to train on CPU when that GPU is not available
 * @param provisioner the GPU provisioner extension's type
 * @param provisionerConfig its settings
 * @param trainer what trains
 * @param triggers when to train
 * @param cooldown the least time between the start of one triggered run and the next (runs started by hand do not
 *     count)
 * @param timeout the longest a run may take before it is stopped
 * @param runCounter how many runs the deployment has had
 * @param updatedBy who last changed the settings
 * @param updatedAt when
 */
public record ContinuousTraining(
        String deploymentId,
        boolean active,
        String experimentName,
        String gpuType,
        boolean allowCpuFallback,
        String provisioner,
        Map<String, Object> provisionerConfig,
        TrainerSpec trainer,
        List<TriggerSpec> triggers,
        Duration cooldown,
        Duration timeout,
        int runCounter,
        String updatedBy,
        Instant updatedAt) {

    /** The name of run number {@code n}. */
    public String runName(int n) {
        return experimentName.replace("{n}", Integer.toString(n));
    }
}
