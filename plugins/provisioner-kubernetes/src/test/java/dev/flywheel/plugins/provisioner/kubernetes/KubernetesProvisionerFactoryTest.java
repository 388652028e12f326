package dev.flywheel.plugins.provisioner.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.ProvisioningException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.pf4j.Extension;

/** The factory: its schema, how configuration becomes settings, and the client it builds. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubernetesProvisionerFactoryTest {

    final KubernetesProvisionerFactory factory = new KubernetesProvisionerFactory();

    @Test
    void isAPf4jExtensionOfTypeKubernetes() {
        assertThat(KubernetesProvisionerFactory.class.isAnnotationPresent(Extension.class)).isTrue();
        assertThat(factory.type()).isEqualTo("kubernetes");
    }

    @Test
    void theImageIsRequiredAndEverythingElseHasADefault() throws Exception {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of()))
                .isInstanceOf(ConfigValidationException.class).hasMessageContaining("image: is required");

        KubernetesSettings s = KubernetesProvisionerFactory.settings(
                factory.configSchema().validate(Map.of("image", "ghcr.io/example/flywheel:0.1.0")));

        assertThat(s.namespace()).isEqualTo("default");
        assertThat(s.command()).containsExactly("flywheel", "job", "run");
        assertThat(s.gpuResource()).isEqualTo("nvidia.com/gpu");
        assertThat(s.ttlSecondsAfterFinished()).isEqualTo(86_400);
        assertThat(s.gpuNodeSelectors()).isEmpty();
        assertThat(s.tolerations()).isEmpty();
        assertThat(s.serviceAccount()).isNull();
    }

    @Test
    void readsEverySetting() throws Exception {
        ExtensionConfig config = factory.configSchema().validate(Map.ofEntries(
                Map.entry("namespace", "ml"),
                Map.entry("image", "img:1"),
                Map.entry("command", List.of("/opt/flywheel/bin/flywheel", "job", "run")),
                Map.entry("gpu_node_selectors", Map.of("A10G", "nvidia.com/gpu.product=NVIDIA-A10G")),
                Map.entry("gpu_resource", "amd.com/gpu"),
                Map.entry("tolerations", List.of("nvidia.com/gpu:NoSchedule")),
                Map.entry("service_account", "trainer"),
                Map.entry("cpu_request", "4"),
                Map.entry("memory_request", "16Gi"),
                Map.entry("labels", Map.of("team", "ml")),
                Map.entry("ttl_seconds_after_finished", 60)));

        KubernetesSettings s = KubernetesProvisionerFactory.settings(config);

        assertThat(s.namespace()).isEqualTo("ml");
        assertThat(s.command()).containsExactly("/opt/flywheel/bin/flywheel", "job", "run");
        assertThat(s.gpuNodeSelectors()).isEqualTo(Map.of("A10G", Map.of("nvidia.com/gpu.product", "NVIDIA-A10G")));
        assertThat(s.gpuResource()).isEqualTo("amd.com/gpu");
        assertThat(s.tolerations()).hasSize(1);
        assertThat(s.serviceAccount()).isEqualTo("trainer");
        assertThat(s.cpuRequest()).isEqualTo("4");
        assertThat(s.memoryRequest()).isEqualTo("16Gi");
        assertThat(s.labels()).isEqualTo(Map.of("team", "ml"));
        assertThat(s.ttlSecondsAfterFinished()).isEqualTo(60);
    }

    @Test
    void aMalformedNodeSelectorIsRefusedAtCreation() throws Exception {
        ExtensionConfig config = factory.configSchema().validate(Map.of("image", "img:1",
                "gpu_node_selectors", Map.of("A10G", "NVIDIA-A10G")));

        assertThatThrownBy(() -> factory.create(config, context())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpu_node_selectors.A10G");
    }

    @Test
    void anUnreachableApiServerIsARetryableFailure() throws Exception {
        int port;
        try (var socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        ExtensionConfig config = factory.configSchema().validate(Map.of("image", "img:1",
                "master_url", "http://127.0.0.1:" + port,
                "gpu_node_selectors", Map.of("A10G", "nvidia.com/gpu.product=NVIDIA-A10G")));

        try (GpuProvisioner provisioner = factory.create(config, context())) {
            assertThatThrownBy(() -> provisioner.submit(Specs.spec("run-1", null, false)))
                    .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                        assertThat(e.retryable()).isTrue();
                        assertThat(e.getMessage()).startsWith("creating Job flywheel-run-1 failed: ")
                                .contains("Connect");
                    });
            assertThat(provisioner.gpuTypes()).isEmpty();
        }
    }

    private static ExtensionContext context() {
        return new ExtensionContext() {
            @Override
            public String instanceName() {
                return "k8s";
            }

            @Override
            public Path workDirectory() {
                return Path.of("target");
            }

            @Override
            public String serverVersion() {
                return "0.1.0";
            }
        };
    }

}
