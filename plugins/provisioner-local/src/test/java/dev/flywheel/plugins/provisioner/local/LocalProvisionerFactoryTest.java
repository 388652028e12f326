package dev.flywheel.plugins.provisioner.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pf4j.Extension;

/** The factory as the server sees it: id, schema, defaults. */
class LocalProvisionerFactoryTest {

    private final LocalProvisionerFactory factory = new LocalProvisionerFactory();

    @TempDir
    Path temp;

    @Test
    void isTheLocalProvisionerExtension() {
        assertThat(factory).isInstanceOf(GpuProvisionerFactory.class);
        assertThat(factory.type()).isEqualTo("local");
        assertThat(LocalProvisionerFactory.class.isAnnotationPresent(Extension.class)).isTrue();
    }

    @Test
    void defaultsUseTheInstanceDirectoryOneJobNoFallbackAndNvidiaSmiOnThePath() throws Exception {
        var settings = LocalProvisionerFactory.settings(factory.configSchema().validate(Map.of()),
                TestHost.context(temp, new TestHost.MutableClock()), Duration.ofSeconds(10));

        assertThat(settings.workDir()).isEqualTo(temp.toAbsolutePath());
        assertThat(settings.maxConcurrentJobs()).isEqualTo(1);
        assertThat(settings.allowCpuFallback()).isFalse();
        assertThat(settings.gpuTypes()).isEmpty();
        assertThat(settings.nvidiaSmi()).isEqualTo("nvidia-smi");
        assertThat(settings.killGracePeriod()).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void readsEverySetting() throws Exception {
        var config = factory.configSchema().validate(Map.of(
                "work_dir", temp.resolve("jobs").toString(),
                "max_concurrent_jobs", 3,
                "allow_cpu_fallback", true,
                "gpu_types", Map.of("A10G", "A10G"),
                "nvidia_smi", "/opt/nvidia/bin/nvidia-smi",
                "kill_grace_period", "1m"));

        var settings = LocalProvisionerFactory.settings(config, TestHost.context(temp, new TestHost.MutableClock()),
                Duration.ofSeconds(10));

        assertThat(settings).isEqualTo(new LocalProvisioner.Settings(temp.resolve("jobs"), 3, true,
                Map.of("A10G", "A10G"), "/opt/nvidia/bin/nvidia-smi", Duration.ofMinutes(1), Duration.ofSeconds(10)));
    }

    @Test
    void rejectsFewerThanOneConcurrentJob() {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of("max_concurrent_jobs", 0)))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessage("max_concurrent_jobs: must be at least 1");
    }

    @Test
    void rejectsAGracePeriodThatIsNotADuration() {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of("kill_grace_period", "soon")))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessageStartingWith("kill_grace_period:");
    }
}
