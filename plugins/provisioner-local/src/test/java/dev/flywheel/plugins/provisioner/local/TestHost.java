package dev.flywheel.plugins.provisioner.local;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.TrainingJobSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** What the provisioner tests share: a controllable clock, a fake nvidia-smi, bounded polling. */
final class TestHost {

    /** Generous, because the build machine may be busy; only ever an upper bound. */
    static final Duration DEADLINE = Duration.ofSeconds(30);

    private TestHost() {}

    /** A clock that tests move by hand, so that timeouts are tested without waiting for them. */
    static final class MutableClock extends Clock {
        private volatile Instant now = Instant.now();

        void advance(Duration duration) {
            now = now.plus(duration);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    static ExtensionContext context(Path workDirectory, Clock clock) {
        return new ExtensionContext() {
            @Override
            public String instanceName() {
                return "local-test";
            }

            @Override
            public Path workDirectory() {
                return workDirectory;
            }

            @Override
            public Clock clock() {
                return clock;
            }

            @Override
            public String serverVersion() {
                return "0.1.0";
            }
        };
    }

    /** Creates a provisioner the way the server does: through the factory, with validated configuration. */
    static GpuProvisioner provisioner(Path workDirectory, Clock clock, Map<String, ?> config) throws Exception {
        var factory = new LocalProvisionerFactory();
        return factory.create(factory.configSchema().validate(config), context(workDirectory, clock));
    }

    /** Writes an executable script that prints the given lines, standing in for nvidia-smi. */
    static Path fakeNvidiaSmi(Path dir, String... lines) throws IOException {
        var script = new StringBuilder("#!/bin/sh\n");
        for (String line : lines) {
            script.append("echo '").append(line).append("'\n");
        }
        return script(dir.resolve("nvidia-smi"), script.toString());
    }

    static Path script(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    static Map<String, Object> config(Object... keyValues) {
        var config = new HashMap<String, Object>();
        for (int i = 0; i < keyValues.length; i += 2) {
            config.put((String) keyValues[i], keyValues[i + 1]);
        }
        return config;
    }

    static TrainingJobSpec spec(String runId, String gpuType, String... command) {
        return spec(runId, gpuType, false, Duration.ofMinutes(30), command);
    }

    static TrainingJobSpec spec(String runId, String gpuType, boolean allowCpuFallback, Duration timeout,
            String... command) {
        return new TrainingJobSpec(runId, "auto-retrain-" + runId, gpuType, allowCpuFallback, List.of(command),
                Map.of("FLYWHEEL_RUN_ID", runId), null, timeout);
    }

    static TrainingJobSpec shell(String runId, String script) {
        return spec(runId, null, "/bin/sh", "-c", script);
    }

    /** Polls until the job has ended and returns its final status. */
    static JobStatus awaitEnd(GpuProvisioner provisioner, JobHandle handle) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (true) {
            JobStatus status = provisioner.status(handle);
            if (status.state().isTerminal()) {
                return status;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("job still " + status + " after " + DEADLINE);
            }
            Thread.sleep(50);
        }
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + DEADLINE + ": " + what);
            }
            Thread.sleep(50);
        }
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    static long pid(JobHandle handle) {
        return Long.parseLong(handle.attributes().get(LocalJob.PID));
    }

    /** Reads a pid a job wrote into a file, waiting for the file to appear. */
    static long awaitPidFile(Path file) throws Exception {
        await(file + " written", () -> {
            try {
                return Files.exists(file) && !Files.readString(file).isBlank();
            } catch (IOException e) {
                return false;
            }
        });
        return Long.parseLong(Files.readString(file).trim());
    }

    static String log(JobHandle handle) throws IOException {
        return Files.readString(Path.of(handle.attributes().get(LocalJob.LOG_FILE)));
    }

    /**
     * Kills a job from outside, the wrapper first so that it cannot record an exit status; also cleans up
     * what a test leaves behind, as tests start real processes.
     */
    static void killTree(JobHandle handle) {
        ProcessHandle.of(pid(handle)).ifPresent(root -> {
            List<ProcessHandle> descendants = root.descendants().toList();
            root.destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly);
        });
    }
}
