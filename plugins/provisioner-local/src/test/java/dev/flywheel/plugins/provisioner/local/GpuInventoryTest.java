package dev.flywheel.plugins.provisioner.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.plugins.provisioner.local.GpuInventory.Gpu;
import dev.flywheel.spi.provisioner.GpuType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading nvidia-smi, and matching requested GPU types to what it reports. */
class GpuInventoryTest {

    @TempDir
    Path temp;

    @Test
    void parsesNvidiaSmiCsvAndSkipsWhatIsNotAGpu() {
        List<Gpu> gpus = GpuInventory.parse("""
                0, NVIDIA H100 80GB HBM3, 81559 MiB
                1, NVIDIA L4, 23034 MiB

                No devices were found
                2, Odd, Name, 1 MiB
                """);

        assertThat(gpus).containsExactly(
                new Gpu(0, "NVIDIA H100 80GB HBM3", "81559 MiB"),
                new Gpu(1, "NVIDIA L4", "23034 MiB"),
                new Gpu(2, "Odd, Name", "1 MiB"));
    }

    @Test
    void runsTheConfiguredCommandWithTheQueryArguments() throws Exception {
        Path smi = TestHost.script(temp.resolve("smi"), """
                #!/bin/sh
                [ "$1" = "--query-gpu=index,name,memory.total" ] && [ "$2" = "--format=csv,noheader" ] || exit 9
                echo '0, NVIDIA A10G, 23028 MiB'
                """);

        GpuInventory.Detection detection = new GpuInventory(smi.toString(), Duration.ofSeconds(10), Map.of()).detect();

        assertThat(detection.problem()).isNull();
        assertThat(detection.gpus()).containsExactly(new Gpu(0, "NVIDIA A10G", "23028 MiB"));
    }

    @Test
    void aFailingNvidiaSmiMeansNoGpu() throws Exception {
        Path smi = TestHost.script(temp.resolve("smi"), "#!/bin/sh\necho '0, NVIDIA A10G, 1 MiB'\nexit 6\n");

        GpuInventory.Detection detection = new GpuInventory(smi.toString(), Duration.ofSeconds(10), Map.of()).detect();

        assertThat(detection.gpus()).isEmpty();
        assertThat(detection.problem()).isEqualTo(smi + " exited with status 6");
    }

    @Test
    void aHangingNvidiaSmiMeansNoGpuOnceItsTimeIsUp() throws Exception {
        Path smi = TestHost.script(temp.resolve("smi"), "#!/bin/sh\nsleep 60\n");
        long before = System.nanoTime();

        GpuInventory.Detection detection = new GpuInventory(smi.toString(), Duration.ofMillis(300), Map.of()).detect();

        assertThat(detection.gpus()).isEmpty();
        assertThat(detection.problem()).isEqualTo(smi + " did not answer within PT0.3S");
        assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void anAbsentNvidiaSmiMeansNoGpu() {
        GpuInventory inventory = new GpuInventory(temp.resolve("absent").toString(), Duration.ofSeconds(10), Map.of());

        assertThat(inventory.detect().gpus()).isEmpty();
        assertThat(inventory.detect().problem()).contains("could not be run");
        assertThat(inventory.types(Set.of())).isEmpty();
    }

    @Test
    void aTypeMatchesDeviceNamesContainingItIgnoringCase() {
        var inventory = new GpuInventory("unused", Duration.ofSeconds(1), Map.of());
        Gpu h100 = new Gpu(0, "NVIDIA H100 80GB HBM3", "81559 MiB");

        assertThat(inventory.matches("H100", h100)).isTrue();
        assertThat(inventory.matches("h100", h100)).isTrue();
        assertThat(inventory.matches("A100", h100)).isFalse();
    }

    @Test
    void aConfiguredTypeMatchesByItsSubstringOnly() {
        var inventory = new GpuInventory("unused", Duration.ofSeconds(1), Map.of("A10G", "A10G", "fast", "h100"));

        assertThat(inventory.matches("fast", new Gpu(0, "NVIDIA H100 80GB HBM3", ""))).isTrue();
        assertThat(inventory.matches("FAST", new Gpu(0, "NVIDIA H100 80GB HBM3", ""))).isTrue();
        assertThat(inventory.matches("fast", new Gpu(0, "NVIDIA A10G", ""))).isFalse();
    }

    @Test
    void typesCountFreeGpusPerName() throws Exception {
        Path smi = TestHost.fakeNvidiaSmi(temp, "0, NVIDIA L4, 23034 MiB", "1, NVIDIA L4, 23034 MiB",
                "2, NVIDIA A10G, 23028 MiB");
        var inventory = new GpuInventory(smi.toString(), Duration.ofSeconds(10), Map.of("gpu", "NVIDIA"));

        assertThat(inventory.types(Set.of(1))).containsExactly(
                new GpuType("gpu", 2, "NVIDIA L4 (23034 MiB), NVIDIA A10G (23028 MiB)"));
    }

    @Test
    void describesWhatWasFoundForErrorMessages() {
        assertThat(GpuInventory.describe(List.of())).isEqualTo("none");
        assertThat(GpuInventory.describe(List.of(new Gpu(0, "NVIDIA L4", ""), new Gpu(1, "NVIDIA T4", ""),
                new Gpu(2, "NVIDIA L4", "")))).isEqualTo("2 x NVIDIA L4, 1 x NVIDIA T4");
    }
}
