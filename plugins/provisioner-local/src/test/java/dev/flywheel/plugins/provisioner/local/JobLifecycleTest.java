package dev.flywheel.plugins.provisioner.local;

import static dev.flywheel.plugins.provisioner.local.TestHost.alive;
import static dev.flywheel.plugins.provisioner.local.TestHost.await;
import static dev.flywheel.plugins.provisioner.local.TestHost.awaitEnd;
import static dev.flywheel.plugins.provisioner.local.TestHost.awaitPidFile;
import static dev.flywheel.plugins.provisioner.local.TestHost.config;
import static dev.flywheel.plugins.provisioner.local.TestHost.log;
import static dev.flywheel.plugins.provisioner.local.TestHost.pid;
import static dev.flywheel.plugins.provisioner.local.TestHost.shell;
import static dev.flywheel.plugins.provisioner.local.TestHost.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.JobStatus.State;
import dev.flywheel.spi.provisioner.LogChunk;
import dev.flywheel.spi.provisioner.ProvisioningException;
import dev.flywheel.spi.provisioner.TrainingJobSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Running, failing, timing out, cancelling and streaming the log of real child processes. */
class JobLifecycleTest {

    @TempDir
    Path temp;

    private final TestHost.MutableClock clock = new TestHost.MutableClock();
    private final List<JobHandle> started = new ArrayList<>();
    private GpuProvisioner provisioner;

    @BeforeEach
    void createProvisioner() throws Exception {
        provisioner = TestHost.provisioner(temp.resolve("jobs"), clock,
                config("nvidia_smi", temp.resolve("no-such-nvidia-smi").toString(),
                        "max_concurrent_jobs", 2, "kill_grace_period", "2s"));
    }

    @AfterEach
    void cleanUp() {
        started.forEach(TestHost::killTree);
        provisioner.close();
    }

    private JobHandle submit(TrainingJobSpec spec) throws ProvisioningException {
        JobHandle handle = provisioner.submit(spec);
        started.add(handle);
        return handle;
    }

    @Test
    void aJobThatExitsZeroSucceedsAndItsOutputIsTheLog() throws Exception {
        JobHandle handle = submit(shell("r1", "echo hello; echo oops >&2"));

        JobStatus status = awaitEnd(provisioner, handle);

        assertThat(status).isEqualTo(new JobStatus(State.SUCCEEDED, "exited with status 0", "cpu", 0));
        LogChunk log = provisioner.logs(handle, 0);
        assertThat(log.text()).contains("hello\n").contains("oops\n").contains("[flywheel]").contains("on cpu");
        assertThat(log.complete()).isTrue();
        assertThat(log.nextOffset()).isEqualTo(Files.size(Path.of(handle.attributes().get(LocalJob.LOG_FILE))));
    }

    @Test
    void aJobThatExitsNonZeroFailsWithItsExitStatus() throws Exception {
        JobHandle handle = submit(shell("r1", "echo hello; exit 3"));

        JobStatus status = awaitEnd(provisioner, handle);

        assertThat(status).isEqualTo(new JobStatus(State.FAILED, "exited with status 3", "cpu", 3));
        assertThat(log(handle)).contains("hello");
    }

    @Test
    void aMissingCommandFailsWithAHint() throws Exception {
        JobHandle handle = submit(spec("r1", null, temp.resolve("no-such-program").toString()));

        JobStatus status = awaitEnd(provisioner, handle);

        assertThat(status.state()).isEqualTo(State.FAILED);
        assertThat(status.exitCode()).isEqualTo(127);
        assertThat(status.message()).isEqualTo("exited with status 127 (command not found; see the log)");
    }

    @Test
    void theCommandIsNotInterpretedByAShell() throws Exception {
        JobHandle handle = submit(spec("r1", null, "printf", "%s|", "$HOME; echo injected", "*"));

        assertThat(awaitEnd(provisioner, handle).state()).isEqualTo(State.SUCCEEDED);
        assertThat(log(handle)).contains("$HOME; echo injected|*|").doesNotContain("injected\n");
    }

    @Test
    void theJobGetsTheSpecEnvironmentTheDeviceAndNoGpu() throws Exception {
        JobHandle handle = submit(shell("r1",
                "echo \"run=$FLYWHEEL_RUN_ID device=$FLYWHEEL_DEVICE cuda=[${CUDA_VISIBLE_DEVICES-unset}] pwd=$(pwd)\""));

        assertThat(awaitEnd(provisioner, handle).state()).isEqualTo(State.SUCCEEDED);
        Path jobDir = Path.of(handle.attributes().get(LocalJob.JOB_DIR));
        assertThat(jobDir).isEqualTo(temp.resolve("jobs").resolve("r1"));
        assertThat(log(handle)).contains("run=r1 device=cpu cuda=[] pwd=" + jobDir.resolve("work").toRealPath());
    }

    @Test
    void theHandleCarriesWhatIsNeededToFindTheJobAgain() throws Exception {
        JobHandle handle = submit(shell("r1", "exit 0"));

        assertThat(handle.id()).isEqualTo(handle.attributes().get(LocalJob.PID));
        assertThat(handle.attributes()).containsKeys(LocalJob.PROCESS_START, LocalJob.STARTED_AT, LocalJob.TIMEOUT,
                LocalJob.JOB_DIR, LocalJob.LOG_FILE, LocalJob.DEVICE, LocalJob.GPU_INDEX);
        assertThat(handle.attributes()).containsEntry(LocalJob.DEVICE, "cpu").containsEntry(LocalJob.TIMEOUT, "PT30M");
        assertThat(Path.of(handle.attributes().get(LocalJob.LOG_FILE))).exists();
    }

    @Test
    void aRunSubmittedAgainGetsAFreshDirectory() throws Exception {
        JobHandle first = submit(shell("r1", "exit 4"));
        assertThat(awaitEnd(provisioner, first).exitCode()).isEqualTo(4);

        JobHandle second = submit(shell("r1", "exit 0"));

        assertThat(second.attributes().get(LocalJob.JOB_DIR)).isEqualTo(temp.resolve("jobs").resolve("r1.2").toString());
        assertThat(awaitEnd(provisioner, second).state()).isEqualTo(State.SUCCEEDED);
        assertThat(provisioner.status(first).exitCode()).isEqualTo(4);
    }

    @Test
    void aRunIdCannotEscapeTheWorkDirectory() throws Exception {
        JobHandle handle = submit(shell("../../etc", "exit 0"));

        assertThat(Path.of(handle.attributes().get(LocalJob.JOB_DIR)).getParent()).isEqualTo(temp.resolve("jobs"));
    }

    @Test
    void submissionsBeyondTheLimitAreRetryable() throws Exception {
        Path release = temp.resolve("release");
        String waitForRelease = "while [ ! -e '" + release + "' ]; do sleep 0.05; done";
        JobHandle first = submit(shell("r1", waitForRelease));
        JobHandle second = submit(shell("r2", waitForRelease));

        assertThatThrownBy(() -> submit(shell("r3", "exit 0")))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isTrue();
                    assertThat(e).hasMessage("2 jobs already running (max 2)");
                });

        Files.createFile(release);
        awaitEnd(provisioner, first);
        awaitEnd(provisioner, second);
        JobHandle third = submit(shell("r3", "exit 0"));
        assertThat(awaitEnd(provisioner, third).state()).isEqualTo(State.SUCCEEDED);
    }

    @Test
    void aJobPastItsTimeoutIsKilledWithItsChildrenAndFails() throws Exception {
        Path grandchild = temp.resolve("grandchild.pid");
        JobHandle handle = submit(shell("r1", "sleep 300 & echo $! > '" + grandchild + "'; wait"));
        long sleepPid = awaitPidFile(grandchild);
        assertThat(provisioner.status(handle).state()).isEqualTo(State.RUNNING);

        clock.advance(Duration.ofMinutes(31));
        JobStatus status = provisioner.status(handle);

        assertThat(status.state()).isEqualTo(State.FAILED);
        assertThat(status.message()).isEqualTo("timed out after PT30M");
        assertThat(status.device()).isEqualTo("cpu");
        await("the job's grandchild sleep is killed", () -> !alive(sleepPid));
        await("the job's wrapper is killed", () -> !alive(pid(handle)));
        assertThat(provisioner.status(handle).message()).isEqualTo("timed out after PT30M");
        assertThat(log(handle)).contains("[flywheel]").contains("timed out after PT30M");
        assertThat(provisioner.logs(handle, 0).complete()).isTrue();
    }

    @Test
    void aJobIgnoringTermIsKilledAfterTheGracePeriod() throws Exception {
        Path ready = temp.resolve("ready");
        // An ignored signal stays ignored in the children, so the whole tree shrugs off TERM.
        JobHandle handle = submit(shell("r1", "trap '' TERM; sleep 300 & echo $! > '" + ready + "'; wait"));
        long sleepPid = awaitPidFile(ready);

        clock.advance(Duration.ofMinutes(31));
        assertThat(provisioner.status(handle).state()).isEqualTo(State.FAILED);

        await("the TERM-proof job is killed after the 2s grace period", () -> !alive(sleepPid) && !alive(pid(handle)));
    }

    @Test
    void aJobWithinItsTimeoutKeepsRunning() throws Exception {
        JobHandle handle = submit(spec("r1", null, false, Duration.ofMinutes(30), "sleep", "300"));

        clock.advance(Duration.ofMinutes(29));

        assertThat(provisioner.status(handle).state()).isEqualTo(State.RUNNING);
        assertThat(alive(pid(handle))).isTrue();
    }

    @Test
    void cancelStopsTheProcessTreeAndRecordsCancelled() throws Exception {
        Path grandchild = temp.resolve("grandchild.pid");
        JobHandle handle = submit(shell("r1", "sleep 300 & echo $! > '" + grandchild + "'; wait"));
        long sleepPid = awaitPidFile(grandchild);

        provisioner.cancel(handle);

        // cancel waits for the tree to go, so no polling is needed here.
        assertThat(alive(pid(handle))).isFalse();
        assertThat(alive(sleepPid)).isFalse();
        // The wrapper is not signalled, so it still records how the job's shell ended: by TERM.
        assertThat(provisioner.status(handle)).isEqualTo(new JobStatus(State.CANCELLED, "cancelled", "cpu", 143));
        assertThat(log(handle)).contains("cancelled");
        // Cancelling twice is harmless.
        provisioner.cancel(handle);
        assertThat(provisioner.status(handle).state()).isEqualTo(State.CANCELLED);
    }

    @Test
    void cancellingAFinishedJobDoesNothing() throws Exception {
        JobHandle handle = submit(shell("r1", "exit 0"));
        awaitEnd(provisioner, handle);

        provisioner.cancel(handle);

        assertThat(provisioner.status(handle).state()).isEqualTo(State.SUCCEEDED);
        assertThat(Path.of(handle.attributes().get(LocalJob.JOB_DIR)).resolve(LocalJob.TERMINATION_FILE_NAME))
                .doesNotExist();
    }

    @Test
    void theLogStreamsWithOffsetsWhileTheJobRuns() throws Exception {
        Path step = temp.resolve("step");
        Path done = temp.resolve("done");
        JobHandle handle = submit(shell("r1", "echo first; while [ ! -e '" + step + "' ]; do sleep 0.05; done; "
                + "echo second; while [ ! -e '" + done + "' ]; do sleep 0.05; done; echo third"));

        StringBuilder received = new StringBuilder();
        long offset = readUntil(handle, received, 0, "first\n");
        LogChunk nothingNew = provisioner.logs(handle, offset);
        assertThat(nothingNew).isEqualTo(new LogChunk("", offset, false));

        Files.createFile(step);
        offset = readUntil(handle, received, offset, "second\n");
        assertThat(received.toString()).doesNotContain("third");

        Files.createFile(done);
        awaitEnd(provisioner, handle);
        LogChunk last = provisioner.logs(handle, offset);
        received.append(last.text());
        assertThat(last.complete()).isTrue();
        assertThat(received.toString()).isEqualTo(log(handle)).endsWith("first\nsecond\nthird\n");
        assertThat(provisioner.logs(handle, last.nextOffset())).isEqualTo(new LogChunk("", last.nextOffset(), true));
    }

    private long readUntil(JobHandle handle, StringBuilder received, long offset, String expected) throws Exception {
        long deadline = System.nanoTime() + TestHost.DEADLINE.toNanos();
        long next = offset;
        while (!received.toString().endsWith(expected)) {
            LogChunk chunk = provisioner.logs(handle, next);
            assertThat(chunk.complete()).isFalse();
            received.append(chunk.text());
            next = chunk.nextOffset();
            if (System.nanoTime() > deadline) {
                throw new AssertionError("log never ended with " + expected + ": " + received);
            }
            Thread.sleep(20);
        }
        return next;
    }

    @Test
    void anEmptyCommandIsRejected() {
        assertThatThrownBy(() -> submit(new TrainingJobSpec("r1", "run", null, false, List.of(), Map.of(), null,
                Duration.ofMinutes(1))))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> assertThat(e.retryable()).isFalse());
    }

    @Test
    void aForeignHandleIsRejected() {
        assertThatThrownBy(() -> provisioner.status(new JobHandle("job-1", Map.of("namespace", "ml"))))
                .isInstanceOfSatisfying(ProvisioningException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e).hasMessageStartingWith("not a job handle of the local provisioner");
                });
    }
}
