package dev.flywheel.server.training;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.access.Role;
import dev.flywheel.server.access.TokenService;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.JobHandle;
import dev.flywheel.spi.provisioner.JobStatus;
import dev.flywheel.spi.provisioner.LogChunk;
import dev.flywheel.spi.provisioner.ProvisioningException;
import dev.flywheel.spi.provisioner.TrainingJobSpec;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Advances training runs: submits queued runs to their provisioner (retrying with backoff while the provisioner says
 * it may help), polls running jobs, copies their console into the run log, and ends runs that succeeded, failed, were
 * lost, stopped sending heartbeats or ran past their timeout. Everything it needs is in the database, so after a
 * restart it simply carries on: running jobs are re-attached by their stored handle, never lost.
 */
public final class RunSupervisor {

    private static final Logger LOG = LoggerFactory.getLogger(RunSupervisor.class);

    static final int MAX_ATTEMPTS = 5;
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(5);
    /** A job that is alive sends a heartbeat every few seconds; this much silence means it is stuck or gone. */
    static final Duration HEARTBEAT_TIMEOUT = Duration.ofMinutes(5);

    private final TrainingStore store;
    private final TrainingRunService runs;
    private final Provisioners provisioners;
    private final TokenService tokens;
    private final EventService events;
    private final Clock clock;
    private final Supplier<String> serverUrl;
    private final Path pluginsDir;

    /** The Quartz job that runs {@link #advanceAll}; one node of a cluster at a time. */
    @DisallowConcurrentExecution
    public static final class SupervisorJob implements Job {
        private final RunSupervisor supervisor;

        public SupervisorJob(RunSupervisor supervisor) {
            this.supervisor = supervisor;
        }

        @Override
        public void execute(JobExecutionContext context) {
            supervisor.advanceAll();
        }
    }

    public RunSupervisor(TrainingStore store, TrainingRunService runs, Provisioners provisioners, TokenService tokens,
            EventService events, Clock clock, Supplier<String> serverUrl, Path pluginsDir) {
        this.store = store;
        this.runs = runs;
        this.provisioners = provisioners;
        this.tokens = tokens;
        this.events = events;
        this.clock = clock;
        this.serverUrl = serverUrl;
        this.pluginsDir = pluginsDir;
    }

    /** One pass over every run in flight; a failure with one run does not hold up the others. */
    public synchronized void advanceAll() {
        for (TrainingStore.RunState state : store.inFlight()) {
            try {
                advance(state);
            } catch (RuntimeException e) {
                LOG.error("advancing training run {} failed", state.run().id(), e);
            }
        }
    }

    private void advance(TrainingStore.RunState s) {
        TrainingRun run = s.run();
        Instant now = clock.instant();
        switch (run.status()) {
            case TrainingRun.QUEUED -> {
                if (s.nextAttemptAt() == null || !now.isBefore(s.nextAttemptAt())) {
                    submit(s);
                }
            }
            case TrainingRun.PROVISIONING -> {
                // A server stopped between claiming the run and storing the job's handle: the job may not exist.
                if (s.handle() == null) {
                    store.retryLater(run.id(), run.attempts(), now, "the server restarted while provisioning; retrying");
                } else {
                    store.transition(run.id(), TrainingRun.PROVISIONING, TrainingRun.RUNNING, null, now);
                }
            }
            case TrainingRun.RUNNING -> poll(s);
            default -> { }
        }
    }

    private void submit(TrainingStore.RunState s) {
        TrainingRun run = s.run();
        Instant now = clock.instant();
        if (!store.transition(run.id(), TrainingRun.QUEUED, TrainingRun.PROVISIONING, null, now)) {
            return;
        }
        runs.note(run.id(), "provisioning with " + run.provisioner() + (run.gpuType() == null ? " on CPU"
                : " on a " + run.gpuType() + " GPU") + " (attempt " + (run.attempts() + 1) + " of " + MAX_ATTEMPTS + ")");
        GpuProvisioner provisioner;
        try {
            provisioner = provisioners.get(run.provisioner(), s.provisionerConfig());
        } catch (RuntimeException e) {
            fail(run, TrainingRun.PROVISIONING, "the provisioner " + run.provisioner() + " is not available: "
                    + e.getMessage());
            return;
        }
        var token = tokens.create("run " + run.name(), Role.RUN, null, run.id(), s.timeout().plusHours(1), null);
        var env = new LinkedHashMap<String, String>();
        env.put("FLYWHEEL_SERVER_URL", serverUrl.get());
        env.put("FLYWHEEL_RUN_ID", run.id());
        env.put("FLYWHEEL_RUN_NAME", run.name());
        env.put("FLYWHEEL_RUN_TOKEN", token.secret());
        env.put("FLYWHEEL_PLUGINS_DIR", pluginsDir.toString());
        var spec = new TrainingJobSpec(run.id(), run.name(), run.gpuType(), s.allowCpuFallback(), JobLauncher.command(),
                env, run.trainer().image(), s.timeout());
        JobHandle handle;
        try {
            handle = provisioner.submit(spec);
        } catch (ProvisioningException e) {
            int attempts = run.attempts() + 1;
            if (e.retryable() && attempts < MAX_ATTEMPTS) {
                Duration wait = FIRST_BACKOFF.multipliedBy(1L << (attempts - 1));
                store.retryLater(run.id(), attempts, now.plus(wait), "provisioning failed, retrying in " + wait
                        .toSeconds() + " s: " + e.getMessage());
                runs.note(run.id(), "provisioning failed (" + e.getMessage() + "); retrying in " + wait.toSeconds() + " s");
            } else {
                fail(run, TrainingRun.PROVISIONING, (e.retryable() ? "provisioning failed " + attempts + " times: "
                        : "provisioning failed: ") + e.getMessage());
            }
            return;
        } catch (RuntimeException e) {
            fail(run, TrainingRun.PROVISIONING, "the provisioner " + run.provisioner() + " failed: " + e);
            return;
        }
        String device = handle.attributes().get("device");
        store.submitted(run.id(), handle, device, now);
        if (!store.transition(run.id(), TrainingRun.PROVISIONING, TrainingRun.RUNNING, null, now)) {
            // Cancelled while it was being submitted: the job just started must not run on unwatched.
            cancelJob(provisioner, handle);
            runs.note(run.id(), "job " + handle.id() + " stopped: the run was cancelled while it started");
            return;
        }
        runs.note(run.id(), "job " + handle.id() + " started" + (device == null ? "" : " on " + device));
        events.event("training.run_started", "training run " + run.name() + " started"
                + (device == null ? "" : " on " + device)).deployment(run.deploymentId())
                .subject("training_run", run.id()).data(Map.of("job", handle.id(), "device", String.valueOf(device)))
                .record();
    }

    private void poll(TrainingStore.RunState s) {
        TrainingRun run = s.run();
        Instant now = clock.instant();
        if (s.handle() == null) {
            fail(run, TrainingRun.RUNNING, "the run has no job handle");
            return;
        }
        GpuProvisioner provisioner = provisioners.get(run.provisioner(), s.provisionerConfig());
        JobStatus status;
        try {
            copyLog(provisioner, s);
            status = provisioner.status(s.handle());
        } catch (ProvisioningException | RuntimeException e) {
            LOG.warn("cannot read the job of run {}: {}", run.id(), e.toString());
            if (s.heartbeatAt() != null && s.heartbeatAt().plus(HEARTBEAT_TIMEOUT).isBefore(now)) {
                fail(run, TrainingRun.RUNNING, "lost contact with the job: " + e.getMessage());
            }
            return;
        }
        if (status.device() != null && !status.device().equals(run.device())) {
            store.device(run.id(), status.device());
        }
        if (!status.state().isTerminal()) {
            Instant started = run.startedAt() != null ? run.startedAt() : run.createdAt();
            if (started.plus(s.timeout()).isBefore(now)) {
                cancelJob(provisioner, s.handle());
                fail(run, TrainingRun.RUNNING, "timed out after " + s.timeout());
            } else if (s.heartbeatAt() != null && s.heartbeatAt().plus(HEARTBEAT_TIMEOUT).isBefore(now)) {
                cancelJob(provisioner, s.handle());
                fail(run, TrainingRun.RUNNING, "no heartbeat from the job for " + HEARTBEAT_TIMEOUT.toMinutes()
                        + " minutes; it was stopped");
            }
            return;
        }
        try {
            copyLog(provisioner, store.findState(run.id()).orElse(s));
        } catch (ProvisioningException | RuntimeException e) {
            LOG.warn("cannot read the end of the log of run {}: {}", run.id(), e.toString());
        }
        TrainingRun latest = store.findRun(run.id()).orElse(run);
        switch (status.state()) {
            case SUCCEEDED -> {
                if (latest.resultModelVersionId() == null) {
                    fail(run, TrainingRun.RUNNING, "the job exited 0 without registering a model");
                } else if (store.transition(run.id(), TrainingRun.RUNNING, TrainingRun.SUCCEEDED, null, now)) {
                    TrainingRun done = store.findRun(run.id()).orElseThrow();
                    var data = new LinkedHashMap<String, Object>();
                    data.put("model_version_id", done.resultModelVersionId());
                    data.put("metrics", done.metrics());
                    data.put("device", done.device());
                    events.event("training.run_succeeded", "training run " + run.name() + " succeeded and registered "
                            + "version " + done.resultModelVersionId()).deployment(run.deploymentId())
                            .subject("training_run", run.id()).data(data).record();
                    runs.succeeded(done);
                }
            }
            case CANCELLED -> end(run, TrainingRun.CANCELLED, "the job was cancelled");
            case LOST -> fail(run, TrainingRun.RUNNING, "the job was lost: " + status.message());
            default -> fail(run, TrainingRun.RUNNING, status.message() == null ? "the job failed"
                    : "the job failed: " + status.message());
        }
    }

    private void copyLog(GpuProvisioner provisioner, TrainingStore.RunState s) throws ProvisioningException {
        long offset = s.logOffset();
        for (int i = 0; i < 64; i++) {
            LogChunk chunk = provisioner.logs(s.handle(), offset);
            if (chunk.text().isEmpty() && chunk.nextOffset() == offset) {
                return;
            }
            store.appendLog(s.run().id(), chunk.text(), chunk.nextOffset());
            offset = chunk.nextOffset();
            if (chunk.complete()) {
                return;
            }
        }
    }

    /** Cancels a run: a queued one at once, a running one by stopping its job first. */
    public TrainingRun cancel(String runId, Principal by) {
        TrainingStore.RunState s = store.findState(runId).orElseThrow(() -> ApiException.notFound("training run", runId));
        TrainingRun run = s.run();
        if (run.finished()) {
            throw ApiException.conflict("run_finished", "run " + run.name() + " already ended: " + run.status());
        }
        if (s.handle() != null) {
            cancelJob(provisioners.get(run.provisioner(), s.provisionerConfig()), s.handle());
            try {
                copyLog(provisioners.get(run.provisioner(), s.provisionerConfig()), store.findState(runId).orElse(s));
            } catch (ProvisioningException | RuntimeException e) {
                LOG.warn("cannot read the end of the log of run {}: {}", runId, e.toString());
            }
        }
        if (store.transition(runId, run.status(), TrainingRun.CANCELLED, "cancelled by " + by.actor(), clock.instant())) {
            runs.note(runId, "cancelled by " + by.actor());
            events.event("training.run_cancelled", "training run " + run.name() + " cancelled").actor(by.actor())
                    .deployment(run.deploymentId()).subject("training_run", runId).record();
        }
        return runs.get(runId);
    }

    private void cancelJob(GpuProvisioner provisioner, JobHandle handle) {
        try {
            provisioner.cancel(handle);
        } catch (ProvisioningException | RuntimeException e) {
            LOG.warn("cancelling job {} failed: {}", handle.id(), e.toString());
        }
    }

    private void fail(TrainingRun run, String from, String message) {
        end(run, TrainingRun.FAILED, message, from);
    }

    private void end(TrainingRun run, String to, String message) {
        end(run, to, message, TrainingRun.RUNNING);
    }

    private void end(TrainingRun run, String to, String message, String from) {
        if (!store.transition(run.id(), from, to, message, clock.instant())) {
            return;
        }
        runs.note(run.id(), to.toLowerCase(java.util.Locale.ROOT) + ": " + message);
        var event = events.event("training.run_" + to.toLowerCase(java.util.Locale.ROOT), "training run " + run.name()
                + " " + to.toLowerCase(java.util.Locale.ROOT) + ": " + message).deployment(run.deploymentId())
                .subject("training_run", run.id()).data(Map.of("message", message));
        if (TrainingRun.FAILED.equals(to)) {
            event.error();
        }
        event.record();
    }
}
