package dev.flywheel.server.training;

import dev.flywheel.server.access.Principal;
import dev.flywheel.server.datasets.DatasetService;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.feedback.FeedbackLoop;
import dev.flywheel.server.feedback.FeedbackLoopService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Json;
import dev.flywheel.server.http.Page;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.persistence.Ids;
import dev.flywheel.server.registry.ModelVersion;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.spi.runtime.ModelArtifact;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training runs: created by a trigger or by hand, advanced by the {@link RunSupervisor}, and served to the job they
 * run ({@code flywheel job run}) through run-scoped routes: its job description, its datasets as of creation, its
 * base model, heartbeats, and the upload of the model it made, which becomes a new version with full lineage.
 */
public final class TrainingRunService {

    /** The trigger type of a run started by hand. */
    public static final String MANUAL = "manual";


    private static final Logger LOG = LoggerFactory.getLogger(TrainingRunService.class);

    private final TrainingStore store;
    private final DeploymentService deployments;
    private final FeedbackLoopService loops;
    private final DatasetService datasets;
    private final RegistryService registry;
    private final EventService events;
    private final Clock clock;
    private final List<NewVersionListener> listeners = new CopyOnWriteArrayList<>();

    /** Told about every version a run registered, once the run succeeded (continuous deployment reacts). */
    @FunctionalInterface
    public interface NewVersionListener {
        void onNewVersion(String deploymentId, String modelVersionId, String actor);
    }

    /**
     * The body of {@code POST /api/deployments/{d}/training-runs}.
     *
     * @param datasetVersionIds the dataset versions to train on; default: those attached to the feedback loop
     * @param reason why, for the record
     */
    public record StartRequest(List<String> datasetVersionIds, String reason) {}

    /**
     * What the job wrapper needs to know ({@code GET /api/training-runs/{r}/job}).
     *
     * @param runId the run
     * @param runName its name
     * @param baseModelVersionId the base version
     * @param baseFormat the base version's format
     * @param datasetVersions the dataset versions and how far to read them
     * @param trainer what trains
     */
    public record JobDescription(String runId, String runName, String baseModelVersionId, String baseFormat,
            List<TrainingRun.DatasetSnapshot> datasetVersions, TrainerSpec trainer) {}

    public TrainingRunService(TrainingStore store, DeploymentService deployments, FeedbackLoopService loops,
            DatasetService datasets, RegistryService registry, EventService events, Clock clock) {
        this.store = store;
        this.deployments = deployments;
        this.loops = loops;
        this.datasets = datasets;
        this.registry = registry;
        this.events = events;
        this.clock = clock;
    }

    public void onNewVersion(NewVersionListener listener) {
        listeners.add(listener);
    }

    /**
     * Creates a run, unless one is already in flight for the deployment. Run numbers are handed out under the
     * continuous training row's lock, so two servers firing at once cannot create two runs.
     *
     * @param datasetVersionIds the dataset versions, or {@code null} for the feedback loop's
     * @return the run, or {@code null} when {@code ifIdle} and a run is already in flight
     */
    public TrainingRun create(String deploymentId, TrainingRun.Trigger trigger, List<String> datasetVersionIds,
            String actor) {
        Deployment d = deployments.get(deploymentId);
        List<String> versionIds = datasetVersionIds;
        if (versionIds == null || versionIds.isEmpty()) {
            versionIds = loopVersions(deploymentId);
        }
        if (versionIds.isEmpty()) {
            throw ApiException.conflict("no_training_data", "deployment " + deploymentId + " has no dataset version to "
                    + "train on: attach one to its feedback loop, or name dataset_version_ids");
        }
        var snapshots = new ArrayList<TrainingRun.DatasetSnapshot>();
        for (String v : versionIds) {
            long hwm = datasets.versionNamedIn("dataset_version_ids", v).highWaterMark();
            snapshots.add(new TrainingRun.DatasetSnapshot(v, hwm));
        }
        TrainingRun run = store.jdbi().inTransaction(h -> {
            ContinuousTraining c = store.findConfig(h, deploymentId, true).orElseThrow(() -> ApiException.conflict(
                    "not_configured", "configure continuous training first: PUT /api/deployments/" + deploymentId
                            + "/continuous-training (it says which provisioner and trainer to use)"));
            var latest = store.latestRun(h, deploymentId);
            if (latest.isPresent() && !latest.get().finished()) {
                throw ApiException.conflict("run_in_flight", "run " + latest.get().name() + " (" + latest.get().id()
                        + ") is " + latest.get().status() + "; one run at a time per deployment");
            }
            int n = Math.max(c.runCounter(), latest.map(TrainingRun::number).orElse(0)) + 1;
            var r = new TrainingRun(Ids.next("run"), deploymentId, n, c.runName(n), TrainingRun.QUEUED, trigger,
                    d.primaryModelVersionId(), List.copyOf(snapshots), c.provisioner(), c.gpuType(), null, c.trainer(),
                    0, null, null, null, actor, clock.instant(), null, null);
            store.insertRun(h, r, c.provisionerConfig(), c.allowCpuFallback(), c.timeout());
            store.setRunCounter(h, deploymentId, n);
            return r;
        });
        var data = new LinkedHashMap<String, Object>();
        data.put("trigger", trigger.type());
        data.put("reason", trigger.reason());
        data.put("evidence", trigger.evidence());
        data.put("base_model_version_id", run.baseModelVersionId());
        data.put("dataset_versions", run.datasetVersions());
        data.put("gpu_type", run.gpuType());
        events.event("training.run_created", "training run " + run.name() + " created: " + trigger.reason())
                .actor(actor).deployment(deploymentId).subject("training_run", run.id()).data(data).record();
        return run;
    }

    private List<String> loopVersions(String deploymentId) {
        return loops.find(deploymentId).map(FeedbackLoop::datasetVersionIds).orElse(List.of());
    }

    /** Starts a run by hand. */
    public TrainingRun start(String deploymentId, StartRequest req, Principal by) {
        String reason = req == null || req.reason() == null || req.reason().isBlank() ? "started by hand" : req.reason();
        return create(deploymentId, new TrainingRun.Trigger(MANUAL, reason, Map.of()),
                req == null ? null : req.datasetVersionIds(), by.actor());
    }

    public TrainingRun get(String id) {
        return store.findRun(id).orElseThrow(() -> ApiException.notFound("training run", id));
    }

    public Page<TrainingRun> list(String deploymentId, PageRequest page) {
        deployments.get(deploymentId);
        return page.page(store.listRuns(deploymentId, page.afterInt(), page.fetchSize()), r -> Integer.toString(r.number()));
    }

    /** The run's console from a character offset on, and whether more can come. */
    public Map<String, Object> log(String id, long from) {
        TrainingRun run = get(id);
        if (from < 0) {
            throw ApiException.badRequest("invalid_parameter", "from must not be negative");
        }
        var chunk = store.readLog(id, from);
        var body = new LinkedHashMap<String, Object>();
        body.put("run_id", id);
        body.put("from", from);
        body.put("text", chunk.getKey());
        body.put("next", chunk.getValue());
        body.put("complete", run.finished());
        body.put("status", run.status());
        return body;
    }

    /** Appends a line of the server's own to a run's console (provisioning news, failures). */
    void note(String runId, String line) {
        store.appendLog(runId, "[flywheel] " + line + "\n", -1);
    }

    // ---- the job's side

    public JobDescription job(String runId) {
        TrainingRun run = requireRunning(runId);
        ModelVersion base = registry.getVersion(run.baseModelVersionId());
        return new JobDescription(run.id(), run.name(), base.id(), base.format(), run.datasetVersions(), run.trainer());
    }

    /** Streams one of the run's dataset versions as it was when the run was created. */
    public void exportDataset(String runId, String datasetVersionId, OutputStream out) {
        TrainingRun run = requireRunning(runId);
        var snapshot = run.datasetVersions().stream().filter(s -> s.datasetVersionId().equals(datasetVersionId))
                .findFirst().orElseThrow(() -> ApiException.notFound("dataset version of this run", datasetVersionId));
        datasets.export(datasetVersionId, snapshot.highWaterMark(), out);
    }

    /** Streams the base version's files ({@code model.json} and the artifact) as a zip. */
    public void baseModel(String runId, OutputStream out) {
        TrainingRun run = requireRunning(runId);
        ModelArtifact artifact = registry.materialize(registry.getVersion(run.baseModelVersionId()));
        try (var zip = new ZipOutputStream(out); Stream<Path> files = Files.walk(artifact.directory())) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                zip.putNextEntry(new ZipEntry(artifact.directory().relativize(f).toString().replace('\\', '/')));
                Files.copy(f, zip);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void heartbeat(String runId) {
        requireRunning(runId);
        store.heartbeat(runId, clock.instant());
    }

    /**
     * Registers the model a run made as a new version of the base's model, with its lineage and metrics. It is
     * checked exactly as an upload is: a model that breaks the contract is refused (400) and the run will fail with
     * that reason.
     */
    public ModelVersion registerOutput(String runId, String metadataJson, String fileName, InputStream artifact,
            Map<String, Object> metrics) {
        TrainingRun run = requireRunning(runId);
        if (run.resultModelVersionId() != null) {
            throw ApiException.conflict("already_uploaded", "run " + run.name() + " already registered version "
                    + run.resultModelVersionId());
        }
        ModelVersion base = registry.getVersion(run.baseModelVersionId());
        ModelVersion v;
        try {
            v = registry.register(base.modelId(), metadataJson, fileName, artifact, base.id(), run.id(),
                    "training run " + run.name());
        } catch (ApiException e) {
            note(runId, "the model the job uploaded was refused: " + e.getMessage());
            throw e;
        }
        store.result(runId, v.id(), metrics == null ? Map.of() : metrics);
        note(runId, "registered version " + v.version() + " (" + v.id() + ") of model " + base.modelId()
                + (metrics == null || metrics.isEmpty() ? "" : " with metrics " + Json.write(metrics)));
        return v;
    }

    private TrainingRun requireRunning(String runId) {
        TrainingRun run = get(runId);
        if (!TrainingRun.RUNNING.equals(run.status()) && !TrainingRun.PROVISIONING.equals(run.status())) {
            throw ApiException.conflict("run_not_running", "run " + run.name() + " is " + run.status());
        }
        return run;
    }

    /** Called by the supervisor when a run succeeded with a registered version. */
    void succeeded(TrainingRun run) {
        for (NewVersionListener l : listeners) {
            try {
                l.onNewVersion(run.deploymentId(), run.resultModelVersionId(), "training run " + run.name());
            } catch (RuntimeException e) {
                LOG.error("reacting to version {} of run {} failed", run.resultModelVersionId(), run.id(), e);
                events.event("training.new_version_failed", "reacting to the new version of run " + run.name()
                        + " failed: " + e.getMessage()).error().deployment(run.deploymentId())
                        .subject("training_run", run.id()).record();
            }
        }
    }

    /** The dataset versions a run trained on (for lineage). */
    public List<String> datasetVersionsOf(String runId) {
        return store.findRun(runId).map(r -> r.datasetVersions().stream()
                .map(TrainingRun.DatasetSnapshot::datasetVersionId).toList()).orElse(List.of());
    }

    Instant now() {
        return clock.instant();
    }
}
