package dev.flywheel.plugins.provisioner.kubernetes;

import dev.flywheel.spi.provisioner.TrainingJobSpec;
import io.fabric8.kubernetes.api.model.Toleration;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Settings and job specs shared by the tests. */
final class Specs {

    static final String NAMESPACE = "training";
    static final String IMAGE = "ghcr.io/example/flywheel:0.1.0";
    static final String TOKEN = "run-token-secret-value";

    private Specs() {}

    static KubernetesSettings settings() {
        return new KubernetesSettings(
                NAMESPACE,
                IMAGE,
                List.of("flywheel", "job", "run"),
                KubernetesSettings.parseNodeSelectors(Map.of(
                        "A10G", "nvidia.com/gpu.product=NVIDIA-A10G",
                        "H100", "nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3,pool=big")),
                "nvidia.com/gpu",
                List.<Toleration>of(KubernetesSettings.parseToleration("nvidia.com/gpu:NoSchedule"),
                        KubernetesSettings.parseToleration("team=ml:NoExecute")),
                null,
                "2",
                "8Gi",
                Map.of("team", "ml"),
                3600);
    }

    static TrainingJobSpec spec(String runId, String gpuType, boolean allowCpuFallback) {
        var env = new LinkedHashMap<String, String>();
        env.put("FLYWHEEL_SERVER_URL", "http://flywheel.example:8080");
        env.put("FLYWHEEL_RUN_ID", runId);
        env.put("FLYWHEEL_RUN_NAME", "auto-retrain-v3");
        env.put("FLYWHEEL_RUN_TOKEN", TOKEN);
        env.put("FLYWHEEL_PLUGINS_DIR", "/opt/server/plugins");
        return new TrainingJobSpec(runId, "auto-retrain-v3", gpuType, allowCpuFallback,
                List.of("/opt/server/bin/flywheel", "job", "run"), env, null, Duration.ofMinutes(90));
    }
}
