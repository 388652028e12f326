package dev.flywheel.plugins.provisioner.kubernetes;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import java.io.File;
import java.util.List;
import org.pf4j.Extension;

/**
 * The {@code kubernetes} provisioner: runs a training job as a Kubernetes {@code batch/v1} Job running the job
 * wrapper image, with a GPU resource limit and a node selector per GPU type. Jobs outlive the server and are found
 * again by name from their handles.
 */
@Extension
public class KubernetesProvisionerFactory implements GpuProvisionerFactory {

    /** Bounds every API call, since the server expects provisioner calls to return promptly. */
    static final int REQUEST_TIMEOUT_MS = 30_000;
    static final int CONNECT_TIMEOUT_MS = 10_000;

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder("namespace", ConfigKind.STRING)
                    .defaultValue("default")
                    .description("The namespace the Jobs (and their run-token Secrets) are created in.")
                    .build(),
            ConfigProperty.builder("image", ConfigKind.STRING)
                    .required()
                    .description("The job wrapper image, such as ghcr.io/example/flywheel:0.1.0: it must contain the "
                            + "Flywheel distribution. A run's own image, when it names one, replaces it.")
                    .build(),
            ConfigProperty.builder("command", ConfigKind.STRING_LIST)
                    .defaultValue(List.of("flywheel", "job", "run"))
                    .description("The job wrapper's entry point inside the image.")
                    .build(),
            ConfigProperty.builder("gpu_node_selectors", ConfigKind.STRING_MAP)
                    .description("GPU type → the node labels that offer it, as key=value[,key=value], e.g. "
                            + "{\"A10G\": \"nvidia.com/gpu.product=NVIDIA-A10G\"}. Only these types can be requested.")
                    .build(),
            ConfigProperty.builder("gpu_resource", ConfigKind.STRING)
                    .defaultValue("nvidia.com/gpu")
                    .description("The extended resource a GPU is requested as (one per job).")
                    .build(),
            ConfigProperty.builder("tolerations", ConfigKind.STRING_LIST)
                    .description("Tolerations for the job pods, each key[=value][:Effect], e.g. nvidia.com/gpu:NoSchedule.")
                    .build(),
            ConfigProperty.builder("service_account", ConfigKind.STRING)
                    .description("The job pods' service account; default: the namespace's default, with no API token "
                            + "mounted.")
                    .build(),
            ConfigProperty.builder("cpu_request", ConfigKind.STRING)
                    .description("The job container's CPU request, such as 2 or 500m.")
                    .build(),
            ConfigProperty.builder("memory_request", ConfigKind.STRING)
                    .description("The job container's memory request, such as 8Gi.")
                    .build(),
            ConfigProperty.builder("kubeconfig", ConfigKind.STRING)
                    .description("Path of a kubeconfig file. Default: the in-cluster service account when the server "
                            + "runs in a pod, else ~/.kube/config (or $KUBECONFIG).")
                    .build(),
            ConfigProperty.builder("master_url", ConfigKind.STRING)
                    .description("The API server URL, overriding the one from the kubeconfig or the cluster.")
                    .build(),
            ConfigProperty.builder("labels", ConfigKind.STRING_MAP)
                    .description("Extra labels on every Job and its pod.")
                    .build(),
            ConfigProperty.builder("ttl_seconds_after_finished", ConfigKind.INTEGER)
                    .defaultValue(86_400L)
                    .minimum(0)
                    .maximum(Integer.MAX_VALUE)
                    .description("How long Kubernetes keeps a finished Job and its pod (and so its log) before "
                            + "deleting them.")
                    .build());

    @Override
    public String type() {
        return "kubernetes";
    }

    @Override
    public String displayName() {
        return "Kubernetes";
    }

    @Override
    public String description() {
        return "Runs training jobs as Kubernetes batch/v1 Jobs with GPU resources and a node selector per GPU type.";
    }

    @Override
    public ConfigSchema configSchema() {
        return SCHEMA;
    }

    @Override
    public GpuProvisioner create(ExtensionConfig config, ExtensionContext context) {
        KubernetesSettings settings = settings(config);
        return new KubernetesProvisioner(settings, client(config), context.logger());
    }

    /**
     * Reads the configuration.
     *
     * @throws IllegalArgumentException when a node selector or toleration is malformed
     */
    static KubernetesSettings settings(ExtensionConfig config) {
        return new KubernetesSettings(
                config.string("namespace").filter(s -> !s.isBlank()).orElse("default"),
                config.string("image").orElseThrow(() -> new IllegalArgumentException("image: is required")),
                config.stringList("command"),
                KubernetesSettings.parseNodeSelectors(config.stringMap("gpu_node_selectors")),
                config.string("gpu_resource").filter(s -> !s.isBlank()).orElse("nvidia.com/gpu"),
                KubernetesSettings.parseTolerations(config.stringList("tolerations")),
                blankToNull(config.string("service_account").orElse(null)),
                blankToNull(config.string("cpu_request").orElse(null)),
                blankToNull(config.string("memory_request").orElse(null)),
                config.stringMap("labels"),
                config.integer("ttl_seconds_after_finished").map(Math::toIntExact).orElse(null));
    }

    private static KubernetesClient client(ExtensionConfig config) {
        String kubeconfig = blankToNull(config.string("kubeconfig").orElse(null));
        String masterUrl = blankToNull(config.string("master_url").orElse(null));
        // fabric8 loads its implementation through the thread's context class loader, which under PF4J is the
        // server's and cannot see this plugin's bundled classes.
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(KubernetesProvisionerFactory.class.getClassLoader());
        try {
            Config base = kubeconfig == null ? Config.autoConfigure(null) : Config.fromKubeconfig(new File(kubeconfig));
            ConfigBuilder builder = new ConfigBuilder(base)
                    .withRequestTimeout(REQUEST_TIMEOUT_MS)
                    .withConnectionTimeout(CONNECT_TIMEOUT_MS)
                    // The server retries failed submissions with its own backoff; fabric8's would only delay it.
                    .withRequestRetryBackoffLimit(1);
            if (masterUrl != null) {
                builder.withMasterUrl(masterUrl);
            }
            return new KubernetesClientBuilder()
                    .withConfig(builder.build())
                    .withHttpClientFactory(new JdkHttpClientFactory())
                    .build();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
