package dev.flywheel.plugins.provisioner.local;

import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.ProvisioningException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Everything needed to find a local job again, whichever provisioner instance started it: the server stores
 * it as the {@link JobHandle}'s attributes, and a copy lies in the job directory so that a restarted
 * provisioner can count the jobs still running on the host.
 *
 * @param pid the process id of the job's wrapper shell
 * @param processStart when the operating system says that process started, or {@code null} when it could not
 *     be read; compared on every look-up so that a recycled pid is never mistaken for the job
 * @param startedAt when the job was submitted, on the provisioner's clock; the timeout counts from here
 * @param timeout the longest the job may run, or {@code null} for no limit
 * @param jobDir the job's directory
 * @param device the device the job runs on, such as {@code cuda:0 (NVIDIA A10G)} or {@code cpu}
 * @param gpuIndex the nvidia-smi index of the GPU the job holds, or {@code null} on CPU
 */
record LocalJob(
        long pid,
        Instant processStart,
        Instant startedAt,
        Duration timeout,
        Path jobDir,
        String device,
        Integer gpuIndex) {

    static final String PID = "pid";
    static final String PROCESS_START = "process_start";
    static final String STARTED_AT = "started_at";
    static final String TIMEOUT = "timeout";
    static final String JOB_DIR = "job_dir";
    static final String LOG_FILE = "log_file";
    static final String DEVICE = "device";
    static final String GPU_INDEX = "gpu_index";

    /** The merged stdout and stderr of the job. */
    static final String LOG_FILE_NAME = "job.log";
    /** Written by the wrapper shell when the command ends, so that the status survives a server restart. */
    static final String EXIT_CODE_FILE_NAME = "exit_code";
    /** Written before the provisioner stops a job; see {@link Termination}. */
    static final String TERMINATION_FILE_NAME = "terminated";
    /** The handle's attributes, for the scan a restarted provisioner makes of its work directory. */
    static final String PROPERTIES_FILE_NAME = "job.properties";
    /** The job's working directory, apart from the files above so that the job cannot clobber them. */
    static final String WORK_DIR_NAME = "work";

    Path logFile() {
        return jobDir.resolve(LOG_FILE_NAME);
    }

    Path exitCodeFile() {
        return jobDir.resolve(EXIT_CODE_FILE_NAME);
    }

    Path terminationFile() {
        return jobDir.resolve(TERMINATION_FILE_NAME);
    }

    /** The job's wrapper process, if it is still alive and is really the one that was started (not a recycled pid). */
    Optional<ProcessHandle> process() {
        return new ProcessRef(pid, processStart).find();
    }

    /** Whether the job has run longer than its timeout at {@code now}. */
    boolean timedOut(Instant now) {
        return timeout != null && timeout.compareTo(Duration.ZERO) > 0 && now.isAfter(startedAt.plus(timeout));
    }

    JobHandle toHandle() {
        return new JobHandle(Long.toString(pid), attributes());
    }

    Map<String, String> attributes() {
        var attributes = new LinkedHashMap<String, String>();
        attributes.put(PID, Long.toString(pid));
        attributes.put(PROCESS_START, processStart == null ? "" : processStart.toString());
        attributes.put(STARTED_AT, startedAt.toString());
        attributes.put(TIMEOUT, timeout == null ? "" : timeout.toString());
        attributes.put(JOB_DIR, jobDir.toString());
        attributes.put(LOG_FILE, logFile().toString());
        attributes.put(DEVICE, device);
        attributes.put(GPU_INDEX, gpuIndex == null ? "" : gpuIndex.toString());
        return attributes;
    }

    /**
     * Reads a handle this provisioner (or an earlier instance of it) returned.
     *
     * @throws ProvisioningException when the handle was not made by a local provisioner
     */
    static LocalJob fromHandle(JobHandle handle) throws ProvisioningException {
        return fromAttributes(handle.attributes());
    }

    static LocalJob fromAttributes(Map<String, String> attributes) throws ProvisioningException {
        try {
            return new LocalJob(
                    Long.parseLong(required(attributes, PID)),
                    optional(attributes, PROCESS_START).map(Instant::parse).orElse(null),
                    Instant.parse(required(attributes, STARTED_AT)),
                    optional(attributes, TIMEOUT).map(Duration::parse).orElse(null),
                    Path.of(required(attributes, JOB_DIR)),
                    optional(attributes, DEVICE).orElse("unknown"),
                    optional(attributes, GPU_INDEX).map(Integer::valueOf).orElse(null));
        } catch (RuntimeException e) {
            // A handle from another provisioner type or a damaged record: retrying cannot repair it.
            throw new ProvisioningException(
                    "not a job handle of the local provisioner (" + e.getMessage() + "): " + attributes, false, e);
        }
    }

    private static String required(Map<String, String> attributes, String name) {
        String value = attributes.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("missing " + name);
        }
        return value;
    }

    private static Optional<String> optional(Map<String, String> attributes, String name) {
        return Optional.ofNullable(attributes.get(name)).filter(v -> !v.isBlank());
    }
}
