package dev.flywheel.plugins.provisioner.kubernetes;

import dev.flywheel.spi.provisioner.TrainingJobSpec;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Builds the Kubernetes objects for one training job; no API calls. */
final class JobManifests {

    static final String LABEL_RUN_ID = "flywheel.dev/run-id";
    static final String LABEL_RUN_NAME = "flywheel.dev/run-name";
    /** Our own pod label, so pods are found without relying on the labels the Job controller adds. */
    static final String LABEL_JOB = "flywheel.dev/job";
    static final String ANNOTATION_DEVICE = "flywheel.dev/device";
    static final String CONTAINER = "job";
    static final String TOKEN_ENV = "FLYWHEEL_RUN_TOKEN";
    static final String TOKEN_KEY = "token";
    /**
     * The server's own plugins directory means nothing inside the image; without it the wrapper uses the plugins
     * directory of the distribution in the image.
     */
    static final String PLUGINS_DIR_ENV = "FLYWHEEL_PLUGINS_DIR";

    private JobManifests() {}

    /**
     * Where the job is placed.
     *
     * @param gpuType the GPU type to request, or {@code null} for CPU
     * @param nodeSelector the nodes it may run on (empty for any)
     * @param device how the device is described to users
     */
    record Placement(String gpuType, Map<String, String> nodeSelector, String device) {}

    /**
     * The Job. It is created suspended when the run token goes into a Secret, so that its pod cannot start before
     * the Secret (which is owned by the Job and so can only be created after it) exists.
     */
    static Job job(KubernetesSettings settings, TrainingJobSpec spec, String name, Placement placement,
            boolean tokenInSecret) {
        Map<String, String> labels = labels(settings, spec, name);
        Map<String, String> annotations = new LinkedHashMap<>();
        // Label values are restricted; the annotations keep the exact run id and name.
        annotations.put(LABEL_RUN_ID, spec.runId());
        annotations.put(LABEL_RUN_NAME, spec.runName());
        annotations.put(ANNOTATION_DEVICE, placement.device());

        var resources = new ResourceRequirementsBuilder();
        if (placement.gpuType() != null) {
            resources.addToLimits(settings.gpuResource(), new Quantity("1"));
        }
        if (settings.cpuRequest() != null) {
            resources.addToRequests("cpu", new Quantity(settings.cpuRequest()));
        }
        if (settings.memoryRequest() != null) {
            resources.addToRequests("memory", new Quantity(settings.memoryRequest()));
        }
        String image = spec.image() == null || spec.image().isBlank() ? settings.image() : spec.image();
        var container = new ContainerBuilder()
                .withName(CONTAINER)
                .withImage(image)
                .withCommand(settings.command())
                .withEnv(env(spec, name, tokenInSecret))
                .withResources(resources.build())
                .build();
        Long deadline = spec.timeout() == null || spec.timeout().isZero() || spec.timeout().isNegative() ? null
                : ceilSeconds(spec.timeout());
        return new JobBuilder()
                .withNewMetadata()
                    .withName(name)
                    .withNamespace(settings.namespace())
                    .withLabels(labels)
                    .withAnnotations(annotations)
                .endMetadata()
                .withNewSpec()
                    // The server decides about retries; a Kubernetes retry would run the job twice behind its back.
                    .withBackoffLimit(0)
                    .withActiveDeadlineSeconds(deadline)
                    .withTtlSecondsAfterFinished(settings.ttlSecondsAfterFinished())
                    .withSuspend(tokenInSecret ? Boolean.TRUE : null)
                    .withNewTemplate()
                        .withNewMetadata()
                            .withLabels(labels)
                            .withAnnotations(annotations)
                        .endMetadata()
                        .withNewSpec()
                            .withRestartPolicy("Never")
                            .withServiceAccountName(settings.serviceAccount())
                            // The job talks to Flywheel, not to Kubernetes: no API token unless an account was chosen.
                            .withAutomountServiceAccountToken(settings.serviceAccount() == null ? Boolean.FALSE : null)
                            .withNodeSelector(placement.nodeSelector().isEmpty() ? null : placement.nodeSelector())
                            .withTolerations(settings.tolerations().isEmpty() ? null : settings.tolerations())
                            .withContainers(container)
                        .endSpec()
                    .endTemplate()
                .endSpec()
                .build();
    }

    /** The Secret with the run token, owned by the created Job so that deleting the Job deletes it. */
    static Secret tokenSecret(KubernetesSettings settings, TrainingJobSpec spec, Job created) {
        return new SecretBuilder()
                .withNewMetadata()
                    .withName(JobNames.secretName(created.getMetadata().getName()))
                    .withNamespace(settings.namespace())
                    .withLabels(labels(settings, spec, created.getMetadata().getName()))
                    .withOwnerReferences(new OwnerReferenceBuilder()
                            .withApiVersion("batch/v1")
                            .withKind("Job")
                            .withName(created.getMetadata().getName())
                            .withUid(created.getMetadata().getUid())
                            .build())
                .endMetadata()
                .withType("Opaque")
                .withStringData(Map.of(TOKEN_KEY, spec.environment().get(TOKEN_ENV)))
                .build();
    }

    static Map<String, String> labels(KubernetesSettings settings, TrainingJobSpec spec, String name) {
        // Configured labels first, so that they cannot replace the ones this provisioner finds its objects by.
        var labels = new LinkedHashMap<>(settings.labels());
        labels.put("app.kubernetes.io/managed-by", "flywheel");
        labels.put(LABEL_JOB, name);
        labels.put(LABEL_RUN_ID, JobNames.labelValue(spec.runId()));
        labels.put(LABEL_RUN_NAME, JobNames.labelValue(spec.runName()));
        return labels;
    }

    private static List<EnvVar> env(TrainingJobSpec spec, String name, boolean tokenInSecret) {
        var env = new ArrayList<EnvVar>();
        for (var e : new TreeMap<>(spec.environment()).entrySet()) {
            if (e.getKey().equals(PLUGINS_DIR_ENV)) {
                continue;
            }
            if (e.getKey().equals(TOKEN_ENV) && tokenInSecret) {
                env.add(new EnvVarBuilder()
                        .withName(TOKEN_ENV)
                        .withNewValueFrom()
                            .withNewSecretKeyRef(TOKEN_KEY, JobNames.secretName(name), false)
                        .endValueFrom()
                        .build());
            } else {
                env.add(new EnvVar(e.getKey(), e.getValue(), null));
            }
        }
        return env;
    }

    private static long ceilSeconds(Duration d) {
        long seconds = d.getSeconds();
        return d.getNano() > 0 ? seconds + 1 : seconds;
    }
}
