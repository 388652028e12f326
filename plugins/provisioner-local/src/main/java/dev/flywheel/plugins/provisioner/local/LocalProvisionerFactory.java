package dev.flywheel.plugins.provisioner.local;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import java.nio.file.Path;
import java.time.Duration;
import org.pf4j.Extension;

/**
 * The {@code local} provisioner: runs a training job as a child process of the server on this host, on one of
 * its GPUs (found with {@code nvidia-smi}) when the run asks for a GPU type, else on CPU. Running jobs survive a
 * server restart and are found again from their job handles.
 */
@Extension
public class LocalProvisionerFactory implements GpuProvisionerFactory {

    /** How long nvidia-smi may take before this host counts as having no GPU. */
    static final Duration DETECTION_TIMEOUT = Duration.ofSeconds(10);

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder("work_dir", ConfigKind.STRING)
                    .description("Directory for the jobs' directories (log, exit status, working directory). "
                            + "Default: this provisioner instance's own directory under the server's data directory.")
                    .build(),
            ConfigProperty.builder("max_concurrent_jobs", ConfigKind.INTEGER)
                    .defaultValue(1L)
                    .minimum(1)
                    .maximum(1024)
                    .description("How many jobs may run at once; the server retries a submission beyond it later.")
                    .build(),
            ConfigProperty.builder("allow_cpu_fallback", ConfigKind.BOOLEAN)
                    .defaultValue(false)
                    .description("Run a job on CPU when its GPU type is not on this host, instead of failing it. "
                            + "A run can also allow this by itself.")
                    .build(),
            ConfigProperty.builder("gpu_types", ConfigKind.STRING_MAP)
                    .description("Maps GPU type names that runs request (such as A10G) to a part of the device name "
                            + "nvidia-smi reports. A type not listed matches devices whose name contains it, "
                            + "ignoring case (H100 matches \"NVIDIA H100 80GB HBM3\").")
                    .build(),
            ConfigProperty.builder("nvidia_smi", ConfigKind.STRING)
                    .defaultValue("nvidia-smi")
                    .description("The nvidia-smi command used to find GPUs. If it is missing or fails, the host "
                            + "counts as having no GPU.")
                    .build(),
            ConfigProperty.builder("kill_grace_period", ConfigKind.DURATION)
                    .defaultValue("10s")
                    .description("How long a cancelled or timed-out job has to exit after TERM before it is killed.")
                    .build());

    @Override
    public String type() {
        return "local";
    }

    @Override
    public String displayName() {
        return "This host";
    }

    @Override
    public String description() {
        return "Runs training jobs as child processes on the server's own host, on its GPU when it has one.";
    }

    @Override
    public ConfigSchema configSchema() {
        return SCHEMA;
    }

    @Override
    public GpuProvisioner create(ExtensionConfig config, ExtensionContext context) {
        return new LocalProvisioner(settings(config, context, DETECTION_TIMEOUT), context);
    }

    static LocalProvisioner.Settings settings(ExtensionConfig config, ExtensionContext context,
            Duration detectionTimeout) {
        Path workDir = config.string("work_dir")
                .filter(dir -> !dir.isBlank())
                .map(Path::of)
                .orElseGet(context::workDirectory)
                .toAbsolutePath()
                .normalize();
        return new LocalProvisioner.Settings(
                workDir,
                Math.toIntExact(config.integer("max_concurrent_jobs").orElse(1L)),
                config.bool("allow_cpu_fallback").orElse(false),
                config.stringMap("gpu_types"),
                config.string("nvidia_smi").orElse("nvidia-smi"),
                config.duration("kill_grace_period").orElse(Duration.ofSeconds(10)),
                detectionTimeout);
    }
}
