package dev.flywheel.plugins.provisioner.local;

import static dev.flywheel.plugins.provisioner.local.TestHost.alive;
import static dev.flywheel.plugins.provisioner.local.TestHost.await;
import static dev.flywheel.plugins.provisioner.local.TestHost.awaitEnd;
import static dev.flywheel.plugins.provisioner.local.TestHost.awaitPidFile;
import static dev.flywheel.plugins.provisioner.local.TestHost.config;
import static dev.flywheel.plugins.provisioner.local.TestHost.fakeNvidiaSmi;
import static dev.flywheel.plugins.provisioner.local.TestHost.pid;
import static dev.flywheel.plugins.provisioner.local.TestHost.shell;
import static dev.flywheel.plugins.provisioner.local.TestHost.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuType;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.JobStatus.State;
import dev.flywheel.spi.provisioner.LogChunk;
import dev.flywheel.spi.provisioner.ProvisioningException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server restart, played as a second provisioner instance with the same configuration that is given only
 * the handles the server stored.
 */
class RestartTest {

    @TempDir
    Path temp;

    private final TestHost.MutableClock clock = new TestHost.MutableClock();
    private final List<GpuProvisioner> provisioners = new ArrayList<>();
    private final List<JobHandle> started = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        started.forEach(TestHost::killTree);
        provisioners.forEach(GpuProvisioner::close);
    }

    private GpuProvisioner provisioner(Object... extraConfig) throws Exception {
        Map<String, Object> config = config(extraConfig);
        config.putIfAbsent("nvidia_smi", temp.resolve("absent").toString());
        GpuProvisioner provisioner = TestHost.provisioner(temp.resolve("jobs"), clock, config);
        provisioners.add(provisioner);
        return provisioner;
    }

    private JobHandle submit(GpuProvisioner provisioner, String runId, String script) throws ProvisioningException {
        JobHandle handle = provisioner.submit(shell(runId, script));
        started.add(handle);
        return handle;
    }

    private String waitFor(Path file) {
        return "while [ ! -e '" + file + "' ]; do sleep 0.05; done";
    }

    @Test
    void aNewInstanceFindsARunningJobAndLaterItsExitStatus() throws Exception {
        Path release = temp.resolve("release");
        GpuProvisioner before = provisioner();
        JobHandle handle = submit(before, "r1", "echo started; " + waitFor(release) + "; echo finished; exit 5");
        before.close();
        assertThat(alive(pid(handle))).as("close() leaves jobs running").isTrue();

        GpuProvisioner after = provisioner();
        assertThat(after.status(handle)).isEqualTo(
                new JobStatus(State.RUNNING, "running as pid " + pid(handle), "cpu", null));
        LogChunk soFar = after.logs(handle, 0);
        assertThat(soFar.complete()).isFalse();

        Files.createFile(release);
        JobStatus end = awaitEnd(after, handle);

        assertThat(end).isEqualTo(new JobStatus(State.FAILED, "exited with status 5", "cpu", 5));
        LogChunk rest = after.logs(handle, soFar.nextOffset());
        assertThat(soFar.text() + rest.text()).contains("started\n").endsWith("finished\n");
        assertThat(rest.complete()).isTrue();
    }

    @Test
    void theExitStatusSurvivesAJobEndingWhileNoInstanceExists() throws Exception {
        GpuProvisioner before = provisioner();
        JobHandle handle = submit(before, "r1", "exit 0");
        before.close();
        await("the job ends", () -> !alive(pid(handle)));

        assertThat(provisioner().status(handle)).isEqualTo(new JobStatus(State.SUCCEEDED, "exited with status 0", "cpu", 0));
    }

    @Test
    void aNewInstanceCountsJobsStillRunningAgainstItsLimitAndGpus() throws Exception {
        Path smi = fakeNvidiaSmi(temp, "0, NVIDIA A10G, 23028 MiB");
        Path release = temp.resolve("release");
        GpuProvisioner before = provisioner("nvidia_smi", smi.toString(), "max_concurrent_jobs", 2);
        JobHandle handle = before.submit(spec("r1", "A10G", "/bin/sh", "-c", waitFor(release)));
        started.add(handle);
        before.close();

        // The server has not polled yet: the new instance learns of the job from the work directory.
        GpuProvisioner after = provisioner("nvidia_smi", smi.toString(), "max_concurrent_jobs", 2);

        assertThat(after.gpuTypes()).containsExactly(new GpuType("NVIDIA A10G", 0, "NVIDIA A10G (23028 MiB)"));
        assertThatThrownBy(() -> after.submit(spec("r2", "A10G", "/bin/sh", "-c", "exit 0")))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> assertThat(e.retryable()).isTrue());
        Files.createFile(release);
        awaitEnd(after, handle);
        assertThat(after.gpuTypes()).extracting(GpuType::available).containsExactly(1);
    }

    @Test
    void aCancellationIsStillKnownAfterARestart() throws Exception {
        GpuProvisioner before = provisioner();
        JobHandle handle = submit(before, "r1", "sleep 300");
        before.cancel(handle);
        before.close();

        assertThat(provisioner().status(handle).state()).isEqualTo(State.CANCELLED);
    }

    @Test
    void aNewInstanceFinishesAKillTheOldOneStarted() throws Exception {
        Path ready = temp.resolve("ready");
        // The old instance's grace period is too long for its KILL to come within the test.
        GpuProvisioner before = provisioner("kill_grace_period", "1h");
        JobHandle handle = submit(before, "r1", "trap '' TERM; sleep 300 & echo $! > '" + ready + "'; wait");
        long sleepPid = awaitPidFile(ready);
        clock.advance(Duration.ofMinutes(31));
        assertThat(before.status(handle).message()).isEqualTo("timed out after PT30M");
        before.close();
        Thread.sleep(200);
        assertThat(alive(sleepPid)).as("TERM is ignored").isTrue();

        clock.advance(Duration.ofSeconds(11));
        GpuProvisioner after = provisioner("kill_grace_period", "10s");
        JobStatus status = after.status(handle);

        assertThat(status.state()).isEqualTo(State.FAILED);
        assertThat(status.message()).isEqualTo("timed out after PT30M");
        await("the new instance kills the job at once, its grace period being over",
                () -> !alive(sleepPid) && !alive(pid(handle)));
    }

    @Test
    void aJobWhoseProcessVanishedWithoutAnExitStatusIsLost() throws Exception {
        GpuProvisioner provisioner = provisioner();
        JobHandle handle = submit(provisioner, "r1", "sleep 300");
        // Once the wrapper has started the job, else the job could start after the kill and outlive the test.
        await("the job runs", () -> ProcessHandle.of(pid(handle)).map(p -> p.descendants()
                .anyMatch(d -> d.info().command().orElse("").endsWith("sleep"))).orElse(false));
        // Killed from outside, wrapper and all, as a host reboot or an OOM kill of the wrapper would.
        TestHost.killTree(handle);
        await("the job is gone", () -> !alive(pid(handle)));

        JobStatus status = provisioner().status(handle);

        assertThat(status.state()).isEqualTo(State.LOST);
        assertThat(status.message()).startsWith("process " + pid(handle) + " ended without recording an exit status");
        assertThat(status.device()).isEqualTo("cpu");
        assertThat(provisioner.logs(handle, 0).complete()).isTrue();
    }

    @Test
    void aRecycledPidIsNotMistakenForTheJob() throws Exception {
        GpuProvisioner provisioner = provisioner();
        JobHandle handle = submit(provisioner, "r1", "sleep 300");
        // The same record, but as if the pid now belonged to a process that started at another time.
        Map<String, String> attributes = new HashMap<>(handle.attributes());
        attributes.put(LocalJob.PROCESS_START, "2001-01-01T00:00:00Z");
        JobHandle recycled = new JobHandle(handle.id(), attributes);

        assertThat(provisioner().status(recycled).state()).isEqualTo(State.LOST);
        provisioner.cancel(recycled);
        assertThat(alive(pid(handle))).as("a process that is not the job is never killed").isTrue();
        assertThat(provisioner.status(handle).state()).isEqualTo(State.RUNNING);
    }
}
