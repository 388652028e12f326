package dev.flywheel.plugins.provisioner.local;

import static dev.flywheel.plugins.provisioner.local.TestHost.awaitEnd;
import static dev.flywheel.plugins.provisioner.local.TestHost.config;
import static dev.flywheel.plugins.provisioner.local.TestHost.fakeNvidiaSmi;
import static dev.flywheel.plugins.provisioner.local.TestHost.log;
import static dev.flywheel.plugins.provisioner.local.TestHost.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuType;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.JobStatus.State;
import dev.flywheel.spi.provisioner.ProvisioningException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which device a job gets, from what a fake nvidia-smi reports. */
class GpuSelectionTest {

    private static final String PRINT_DEVICE =
            "echo \"device=$FLYWHEEL_DEVICE cuda=[${CUDA_VISIBLE_DEVICES-unset}]\"";

    @TempDir
    Path temp;

    private final List<GpuProvisioner> provisioners = new ArrayList<>();
    private final List<JobHandle> started = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        started.forEach(TestHost::killTree);
        provisioners.forEach(GpuProvisioner::close);
    }

    private GpuProvisioner provisioner(Map<String, Object> config) throws Exception {
        GpuProvisioner provisioner = TestHost.provisioner(temp.resolve("jobs"), new TestHost.MutableClock(), config);
        provisioners.add(provisioner);
        return provisioner;
    }

    private GpuProvisioner withGpus(Object... extraConfig) throws Exception {
        Path smi = fakeNvidiaSmi(temp, "0, NVIDIA H100 80GB HBM3, 81559 MiB", "1, NVIDIA H100 80GB HBM3, 81559 MiB",
                "2, NVIDIA L4, 23034 MiB");
        Map<String, Object> config = config(extraConfig);
        config.put("nvidia_smi", smi.toString());
        config.putIfAbsent("max_concurrent_jobs", 4);
        return provisioner(config);
    }

    private JobHandle submit(GpuProvisioner provisioner, String runId, String gpuType, boolean fallback,
            String script) throws ProvisioningException {
        JobHandle handle = provisioner.submit(spec(runId, gpuType, fallback, Duration.ofHours(1), "/bin/sh", "-c", script));
        started.add(handle);
        return handle;
    }

    @Test
    void aPresentGpuTypeGetsAGpuOfItsOwn() throws Exception {
        GpuProvisioner provisioner = withGpus();

        JobHandle handle = submit(provisioner, "r1", "h100", false, PRINT_DEVICE);
        JobStatus status = awaitEnd(provisioner, handle);

        assertThat(status.state()).isEqualTo(State.SUCCEEDED);
        assertThat(status.device()).isEqualTo("cuda:0 (NVIDIA H100 80GB HBM3)");
        assertThat(log(handle)).contains("device=cuda:0 (NVIDIA H100 80GB HBM3) cuda=[0]");
        assertThat(handle.attributes()).containsEntry(LocalJob.GPU_INDEX, "0")
                .containsEntry(LocalJob.DEVICE, "cuda:0 (NVIDIA H100 80GB HBM3)");
    }

    @Test
    void runningJobsHoldTheirGpusUntilTheyEnd() throws Exception {
        GpuProvisioner provisioner = withGpus();
        Path release = temp.resolve("release");
        String wait = PRINT_DEVICE + "; while [ ! -e '" + release + "' ]; do sleep 0.05; done";

        JobHandle first = submit(provisioner, "r1", "H100", false, wait);
        JobHandle second = submit(provisioner, "r2", "H100", false, wait);

        assertThat(first.attributes()).containsEntry(LocalJob.GPU_INDEX, "0");
        assertThat(second.attributes()).containsEntry(LocalJob.GPU_INDEX, "1");
        assertThat(provisioner.gpuTypes()).containsExactly(
                new GpuType("NVIDIA H100 80GB HBM3", 0, "NVIDIA H100 80GB HBM3 (81559 MiB)"),
                new GpuType("NVIDIA L4", 1, "NVIDIA L4 (23034 MiB)"));
        assertThatThrownBy(() -> submit(provisioner, "r3", "H100", true, "exit 0"))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isTrue();
                    assertThat(e).hasMessage("all 2 H100 GPUs on this host are in use by other jobs");
                });

        Files.createFile(release);
        awaitEnd(provisioner, first);
        awaitEnd(provisioner, second);
        assertThat(provisioner.gpuTypes()).extracting(GpuType::available).containsExactly(2, 1);
        JobHandle third = submit(provisioner, "r3", "H100", false, PRINT_DEVICE);
        assertThat(awaitEnd(provisioner, third).device()).isEqualTo("cuda:0 (NVIDIA H100 80GB HBM3)");
    }

    @Test
    void aMissingGpuTypeFailsTheSubmissionForGood() throws Exception {
        Path smi = fakeNvidiaSmi(temp, "0, NVIDIA L4, 23034 MiB", "1, NVIDIA L4, 23034 MiB");
        GpuProvisioner provisioner = provisioner(config("nvidia_smi", smi.toString()));

        assertThatThrownBy(() -> submit(provisioner, "r1", "A10G", false, "exit 0"))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e).hasMessage("no A10G GPU on this host (found: 2 x NVIDIA L4)");
                });
        assertThat(temp.resolve("jobs")).doesNotExist();
    }

    @Test
    void aHostWithoutNvidiaSmiHasNoGpu() throws Exception {
        GpuProvisioner provisioner = provisioner(config("nvidia_smi", temp.resolve("absent").toString()));

        assertThat(provisioner.gpuTypes()).isEmpty();
        assertThatThrownBy(() -> submit(provisioner, "r1", "A10G", false, "exit 0"))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e).hasMessageStartingWith("no A10G GPU on this host (found: none)");
                });
    }

    @Test
    void theConfigCanAllowCpuFallback() throws Exception {
        GpuProvisioner provisioner = provisioner(
                config("nvidia_smi", temp.resolve("absent").toString(), "allow_cpu_fallback", true));

        JobHandle handle = submit(provisioner, "r1", "A10G", false, PRINT_DEVICE);

        JobStatus status = awaitEnd(provisioner, handle);
        assertThat(status.device()).isEqualTo("cpu (fallback: no A10G on this host)");
        assertThat(log(handle)).contains("device=cpu (fallback: no A10G on this host) cuda=[]");
    }

    @Test
    void theRunCanAllowCpuFallback() throws Exception {
        Path smi = fakeNvidiaSmi(temp, "0, NVIDIA L4, 23034 MiB");
        GpuProvisioner provisioner = provisioner(config("nvidia_smi", smi.toString()));

        JobHandle handle = submit(provisioner, "r1", "A10G", true, PRINT_DEVICE);

        assertThat(awaitEnd(provisioner, handle).device()).isEqualTo("cpu (fallback: no A10G on this host)");
        assertThat(log(handle)).contains("cuda=[]");
    }

    @Test
    void configuredTypeNamesMapOntoDeviceNames() throws Exception {
        Path smi = fakeNvidiaSmi(temp, "0, NVIDIA A10G, 23028 MiB", "1, Tesla T4, 15360 MiB");
        GpuProvisioner provisioner = provisioner(config("nvidia_smi", smi.toString(),
                "gpu_types", Map.of("big", "a10g", "small", "T4")));

        assertThat(provisioner.gpuTypes()).containsExactly(
                new GpuType("big", 1, "NVIDIA A10G (23028 MiB)"),
                new GpuType("small", 1, "Tesla T4 (15360 MiB)"));
        JobHandle handle = submit(provisioner, "r1", "small", false, PRINT_DEVICE);
        assertThat(awaitEnd(provisioner, handle).device()).isEqualTo("cuda:1 (Tesla T4)");
        assertThat(log(handle)).contains("cuda=[1]");
    }

    @Test
    void aCpuJobNeverSeesAGpu() throws Exception {
        GpuProvisioner provisioner = withGpus();

        JobHandle handle = submit(provisioner, "r1", null, false, PRINT_DEVICE);

        assertThat(awaitEnd(provisioner, handle).device()).isEqualTo("cpu");
        assertThat(log(handle)).contains("device=cpu cuda=[]");
        assertThat(handle.attributes()).containsEntry(LocalJob.GPU_INDEX, "");
    }
}
