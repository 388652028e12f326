package dev.flywheel.plugins.provisioner.local;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuType;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.JobStatus.State;
import dev.flywheel.spi.provisioner.LogChunk;
import dev.flywheel.spi.provisioner.ProvisioningException;
import dev.flywheel.spi.provisioner.TrainingJobSpec;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs training jobs as child processes of the server, on this host.
 *
 * <p>Each job gets a directory {@code <work_dir>/<run id>/} holding its log, the exit status its wrapper shell
 * records, and a termination record when the provisioner stopped it. The job's state is read from those files
 * and from the operating system, never from memory alone, so that a provisioner created after a server
 * restart answers for jobs an earlier one started. {@link #close()} leaves running jobs alone for that reason.
 */
final class LocalProvisioner implements GpuProvisioner {

    /**
     * Runs the command with its arguments as positional parameters, so the shell never interprets them, and
     * records the exit status in a file: the server may be gone by the time the job ends.
     */
    private static final String WRAPPER_SCRIPT =
            "exit_file=$1; shift; \"$@\"; code=$?; echo \"$code\" > \"$exit_file\"; exit \"$code\"";

    /** How long a cancel waits beyond the grace period for killed processes to disappear. */
    private static final Duration KILL_SETTLE = Duration.ofSeconds(5);

    /**
     * The settings of one configured instance.
     *
     * @param workDir where job directories go
     * @param maxConcurrentJobs how many jobs may run at once
     * @param allowCpuFallback whether a job whose GPU type is not on this host runs on CPU instead
     * @param gpuTypes requested type name → substring of the device name
     * @param nvidiaSmi the nvidia-smi command
     * @param killGracePeriod how long a stopped job has between TERM and KILL
     * @param detectionTimeout how long nvidia-smi may take
     */
    record Settings(
            Path workDir,
            int maxConcurrentJobs,
            boolean allowCpuFallback,
            Map<String, String> gpuTypes,
            String nvidiaSmi,
            Duration killGracePeriod,
            Duration detectionTimeout) {}

    /** Where a job will run. */
    private record Placement(String device, String cudaVisibleDevices, Integer gpuIndex) {}

    private final Settings settings;
    private final Clock clock;
    private final System.Logger log;
    private final GpuInventory inventory;
    private final ScheduledExecutorService killer;
    /** Jobs whose process is alive, by pid: they count against the job limit and hold their GPU. */
    private final Map<Long, LocalJob> live = new HashMap<>();
    /** Pids this instance is already stopping, so that polls do not send TERM again and again. */
    private final Set<Long> stopping = new HashSet<>();

    LocalProvisioner(Settings settings, ExtensionContext context) {
        this.settings = settings;
        this.clock = context.clock();
        this.log = context.logger();
        this.inventory = new GpuInventory(settings.nvidiaSmi(), settings.detectionTimeout(), settings.gpuTypes());
        this.killer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "flywheel-local-provisioner-" + context.instanceName());
            thread.setDaemon(true);
            return thread;
        });
        adoptRunningJobs();
    }

    @Override
    public List<GpuType> gpuTypes() {
        return inventory.types(heldGpus());
    }

    @Override
    public JobHandle submit(TrainingJobSpec spec) throws ProvisioningException {
        if (spec.command().isEmpty()) {
            throw new ProvisioningException("the job has no command to run", false);
        }
        synchronized (this) {
            pruneEnded();
            if (live.size() >= settings.maxConcurrentJobs()) {
                throw new ProvisioningException(live.size() + (live.size() == 1 ? " job" : " jobs")
                        + " already running (max " + settings.maxConcurrentJobs() + ")", true);
            }
            Placement placement = place(spec);
            LocalJob job = start(spec, placement);
            live.put(job.pid(), job);
            log.log(Level.INFO, "started run {0} as pid {1} on {2} in {3}",
                    spec.runId(), job.pid(), job.device(), job.jobDir());
            return job.toHandle();
        }
    }

    private Placement place(TrainingJobSpec spec) throws ProvisioningException {
        String requested = spec.gpuType();
        if (requested == null || requested.isBlank()) {
            // An empty list hides every GPU, so frameworks such as PyTorch do not grab one behind our back.
            return new Placement("cpu", "", null);
        }
        GpuInventory.Detection detection = inventory.detect();
        List<GpuInventory.Gpu> matching =
                detection.gpus().stream().filter(gpu -> inventory.matches(requested, gpu)).toList();
        if (matching.isEmpty()) {
            if (settings.allowCpuFallback() || spec.allowCpuFallback()) {
                return new Placement("cpu (fallback: no " + requested + " on this host)", "", null);
            }
            String message = "no " + requested + " GPU on this host (found: " + GpuInventory.describe(detection.gpus())
                    + ")" + (detection.problem() == null ? "" : "; " + detection.problem());
            // The hardware will not change by itself: retrying cannot help.
            throw new ProvisioningException(message, false);
        }
        Set<Integer> held = heldGpus();
        Optional<GpuInventory.Gpu> free = matching.stream().filter(gpu -> !held.contains(gpu.index())).findFirst();
        if (free.isEmpty()) {
            throw new ProvisioningException("all " + matching.size() + " " + requested
                    + " GPUs on this host are in use by other jobs", true);
        }
        GpuInventory.Gpu gpu = free.get();
        return new Placement("cuda:" + gpu.index() + " (" + gpu.name() + ")", Integer.toString(gpu.index()), gpu.index());
    }

    private LocalJob start(TrainingJobSpec spec, Placement placement) throws ProvisioningException {
        Path jobDir;
        try {
            jobDir = createJobDir(spec.runId());
        } catch (IOException e) {
            throw new ProvisioningException("could not create a job directory under " + settings.workDir()
                    + ": " + e.getMessage(), true, e);
        }
        Path logFile = jobDir.resolve(LocalJob.LOG_FILE_NAME);
        Path workDir = jobDir.resolve(LocalJob.WORK_DIR_NAME);
        var command = new ArrayList<String>(List.of("/bin/sh", "-c", WRAPPER_SCRIPT, "flywheel-job",
                jobDir.resolve(LocalJob.EXIT_CODE_FILE_NAME).toString()));
        command.addAll(spec.command());
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                // Appending lets the provisioner add its own notes to the same log while the job writes.
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                // The server's stdin is no business of the job, and a pipe would break when the server exits.
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> environment = builder.environment();
        environment.putAll(spec.environment());
        environment.put("FLYWHEEL_DEVICE", placement.device());
        environment.put("CUDA_VISIBLE_DEVICES", placement.cudaVisibleDevices());
        Process process;
        try {
            Files.createDirectories(workDir);
            appendLog(logFile, "run " + spec.runName() + " (" + spec.runId() + ") on " + placement.device());
            process = builder.start();
        } catch (IOException e) {
            throw new ProvisioningException("could not start the job in " + jobDir + ": " + e.getMessage(), true, e);
        }
        // A job that is over before its start time could be read gets one no process has, so that its pid,
        // free for reuse already, can never pass for it.
        Instant processStart = process.info().startInstant().orElse(process.isAlive() ? null : Instant.EPOCH);
        LocalJob job = new LocalJob(process.pid(), processStart, clock.instant(),
                spec.timeout(), jobDir, placement.device(), placement.gpuIndex());
        try {
            writeProperties(job);
        } catch (IOException e) {
            // Without its record the job could not be found after a restart; better not to run it at all.
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            throw new ProvisioningException("could not record the job in " + jobDir + ": " + e.getMessage(), true, e);
        }
        return job;
    }

    private Path createJobDir(String runId) throws IOException {
        Files.createDirectories(settings.workDir());
        String name = runId == null ? "" : runId.replaceAll("[^A-Za-z0-9._-]", "_");
        if (name.isEmpty() || name.chars().allMatch(c -> c == '.')) {
            name = "run";
        }
        // A run submitted again (the server retries) gets a fresh directory, so an earlier attempt's exit
        // status can never be read as this one's.
        for (int attempt = 1; ; attempt++) {
            Path dir = settings.workDir().resolve(attempt == 1 ? name : name + "." + attempt);
            try {
                return Files.createDirectory(dir);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // try the next name
            }
        }
    }

    @Override
    public JobStatus status(JobHandle handle) throws ProvisioningException {
        LocalJob job = LocalJob.fromHandle(handle);
        Optional<ProcessHandle> process = job.process();
        process.ifPresent(p -> track(job));
        try {
            Termination termination = Termination.read(job.terminationFile());
            if (termination == null && process.isPresent() && job.timedOut(clock.instant())) {
                termination = decideToStop(job, process.get(), Termination.Reason.TIMED_OUT);
            }
            if (termination != null) {
                // Also after a restart, when the instance that started the kill is gone.
                stop(job, termination);
                Integer exitCode = readExitCode(job);
                return termination.reason() == Termination.Reason.CANCELLED
                        ? new JobStatus(State.CANCELLED, "cancelled", job.device(), exitCode)
                        : new JobStatus(State.FAILED, "timed out after " + job.timeout(), job.device(), exitCode);
            }
            if (process.isPresent()) {
                return new JobStatus(State.RUNNING, "running as pid " + job.pid(), job.device(), null);
            }
            // The process was seen dead before the file is read, and the wrapper writes the file before it
            // exits, so a missing file means the wrapper itself was killed.
            Integer exitCode = readExitCode(job);
            if (exitCode == null) {
                return new JobStatus(State.LOST, "process " + job.pid() + " ended without recording an exit status"
                        + " (killed outside Flywheel, or the host restarted)", job.device(), null);
            }
            return new JobStatus(exitCode == 0 ? State.SUCCEEDED : State.FAILED, describeExit(exitCode),
                    job.device(), exitCode);
        } catch (IOException e) {
            throw new ProvisioningException("could not read the state of job " + job.pid() + " in " + job.jobDir()
                    + ": " + e.getMessage(), true, e);
        }
    }

    /** Records that the job is to be stopped, with its process tree as it is now; the first decision wins. */
    private Termination decideToStop(LocalJob job, ProcessHandle root, Termination.Reason reason) throws IOException {
        List<ProcessRef> tree = tree(root).stream().map(ProcessRef::of).toList();
        Termination termination = Termination.writeIfAbsent(job.terminationFile(),
                new Termination(reason, clock.instant(), tree));
        if (termination.reason() == reason) {
            appendLog(job.logFile(), (reason == Termination.Reason.CANCELLED
                    ? "cancelled" : "timed out after " + job.timeout())
                    + ": stopping the job (TERM, then KILL after " + settings.killGracePeriod() + ")");
        }
        return termination;
    }

    static String describeExit(int code) {
        String text = "exited with status " + code;
        if (code == 126) {
            return text + " (command not executable; see the log)";
        }
        if (code == 127) {
            return text + " (command not found; see the log)";
        }
        if (code > 128 && code < 128 + 65) {
            return text + " (killed by signal " + (code - 128) + ")";
        }
        return text;
    }

    @Override
    public LogChunk logs(JobHandle handle, long fromOffset) throws ProvisioningException {
        LocalJob job = LocalJob.fromHandle(handle);
        boolean ended = job.process().isEmpty();
        try {
            return LogReader.read(job.logFile(), fromOffset, LogReader.MAX_CHUNK_BYTES, ended);
        } catch (IOException e) {
            throw new ProvisioningException("could not read the log " + job.logFile() + ": " + e.getMessage(), true, e);
        }
    }

    @Override
    public void cancel(JobHandle handle) throws ProvisioningException {
        LocalJob job = LocalJob.fromHandle(handle);
        Optional<ProcessHandle> process = job.process();
        if (process.isEmpty()) {
            return;
        }
        CompletableFuture<Void> gone;
        try {
            gone = stop(job, decideToStop(job, process.get(), Termination.Reason.CANCELLED));
        } catch (IOException e) {
            throw new ProvisioningException("could not record the cancellation in " + job.jobDir() + ": "
                    + e.getMessage(), true, e);
        }
        Duration wait = settings.killGracePeriod().plus(KILL_SETTLE);
        try {
            // Waiting here means that when cancel returns, the job's GPU is really free again.
            gone.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new ProvisioningException("process " + job.pid() + " did not stop within " + wait, true, e);
        } catch (ExecutionException e) {
            throw new ProvisioningException("could not stop process " + job.pid() + ": " + e.getCause(), true, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProvisioningException("interrupted while stopping process " + job.pid(), true, e);
        }
    }

    /**
     * Stops what is left of the job's process tree: TERM now, KILL once the grace period, counted from the
     * termination record (perhaps written by an instance before a restart), is over.
     *
     * <p>The wrapper shell gets no TERM: it stays to record how the job ended, and as long as it lives the
     * job's processes are found as its descendants. It is killed with the rest when the grace period ends.
     *
     * @return completes when every process of the tree has exited
     */
    private CompletableFuture<Void> stop(LocalJob job, Termination termination) {
        List<ProcessHandle> processes = remaining(job, termination);
        CompletableFuture<Void> gone = CompletableFuture.allOf(
                processes.stream().map(ProcessHandle::onExit).toArray(CompletableFuture[]::new));
        if (processes.isEmpty()) {
            return gone;
        }
        synchronized (stopping) {
            if (!stopping.add(job.pid())) {
                return gone;
            }
        }
        gone.whenComplete((ignored, error) -> {
            synchronized (stopping) {
                stopping.remove(job.pid());
            }
        });
        Duration graceLeft = Duration.between(clock.instant(), termination.at().plus(settings.killGracePeriod()));
        if (graceLeft.isNegative() || graceLeft.isZero()) {
            kill(job, termination);
            return gone;
        }
        processes.stream().filter(p -> p.pid() != job.pid()).forEach(ProcessHandle::destroy);
        try {
            killer.schedule(() -> kill(job, termination), graceLeft.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // Closed: a later instance's status() finishes the kill once the grace period is over.
        }
        return gone;
    }

    private static void kill(LocalJob job, Termination termination) {
        remaining(job, termination).forEach(ProcessHandle::destroyForcibly);
    }

    /**
     * The job's processes still alive: those recorded when it was told to stop (they may have lost their
     * parent since) and whatever the wrapper has under it now.
     */
    private static List<ProcessHandle> remaining(LocalJob job, Termination termination) {
        var processes = new LinkedHashSet<ProcessHandle>();
        job.process().ifPresent(root -> processes.addAll(tree(root)));
        termination.processes().forEach(ref -> ref.find().ifPresent(processes::add));
        return List.copyOf(processes);
    }

    /** The root first, then its descendants. */
    private static List<ProcessHandle> tree(ProcessHandle root) {
        var tree = new ArrayList<ProcessHandle>();
        tree.add(root);
        root.descendants().forEach(tree::add);
        return tree;
    }

    /** Leaves running jobs alone: they must outlive a server restart, and a later instance re-attaches them. */
    @Override
    public void close() {
        // Scheduled KILLs still run after shutdown; the thread is a daemon, so it never holds up the JVM.
        killer.shutdown();
    }

    private synchronized void track(LocalJob job) {
        live.putIfAbsent(job.pid(), job);
    }

    private synchronized Set<Integer> heldGpus() {
        pruneEnded();
        var held = new HashSet<Integer>();
        live.values().forEach(job -> {
            if (job.gpuIndex() != null) {
                held.add(job.gpuIndex());
            }
        });
        return held;
    }

    private synchronized void pruneEnded() {
        live.values().removeIf(job -> job.process().isEmpty());
    }

    /** Counts the jobs an earlier instance started that are still running, so limits and GPU use stay right. */
    private void adoptRunningJobs() {
        if (!Files.isDirectory(settings.workDir())) {
            return;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(settings.workDir(), Files::isDirectory)) {
            for (Path dir : dirs) {
                Path properties = dir.resolve(LocalJob.PROPERTIES_FILE_NAME);
                if (Files.exists(dir.resolve(LocalJob.EXIT_CODE_FILE_NAME)) || !Files.exists(properties)) {
                    continue;
                }
                try {
                    LocalJob job = LocalJob.fromAttributes(readProperties(properties));
                    if (job.process().isPresent()) {
                        track(job);
                        log.log(Level.INFO, "re-attached running job pid {0} in {1}", job.pid(), dir);
                    }
                } catch (IOException | ProvisioningException e) {
                    log.log(Level.WARNING, "ignoring unreadable job record " + properties + ": " + e.getMessage());
                }
            }
        } catch (IOException | UncheckedIOException e) {
            log.log(Level.WARNING, "could not scan " + settings.workDir() + " for running jobs: " + e.getMessage());
        }
    }

    private static void writeProperties(LocalJob job) throws IOException {
        var properties = new Properties();
        properties.putAll(job.attributes());
        Path file = job.jobDir().resolve(LocalJob.PROPERTIES_FILE_NAME);
        try (OutputStream out = Files.newOutputStream(file)) {
            properties.store(out, "Flywheel local job; the server holds the same as the run's job handle");
        }
    }

    private static Map<String, String> readProperties(Path file) throws IOException {
        var properties = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            properties.load(in);
        }
        var map = new HashMap<String, String>();
        properties.stringPropertyNames().forEach(name -> map.put(name, properties.getProperty(name)));
        return map;
    }

    private static Integer readExitCode(LocalJob job) throws IOException {
        try {
            String text = Files.readString(job.exitCodeFile(), StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? null : Integer.valueOf(text);
        } catch (NoSuchFileException e) {
            return null;
        } catch (NumberFormatException e) {
            throw new IOException("unreadable exit status in " + job.exitCodeFile(), e);
        }
    }

    /** Adds a line of the provisioner's own to the job's console log, marked so it is not taken for the job's. */
    private void appendLog(Path logFile, String line) throws IOException {
        Files.writeString(logFile, "[flywheel] " + Instant.now(clock) + " " + line + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
