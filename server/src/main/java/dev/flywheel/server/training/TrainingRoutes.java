package dev.flywheel.server.training;

import dev.flywheel.server.access.Access;
import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.feedback.ReviewService;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Bodies;
import dev.flywheel.server.http.MultipartForm;
import dev.flywheel.server.http.Json;
import dev.flywheel.server.http.PageRequest;
import dev.flywheel.server.http.QueryParams;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Continuous training settings, training runs, and the run-scoped routes the job wrapper uses with its run token.
 */
public final class TrainingRoutes implements Api.Routes {

    /** The largest model a job may upload. */
    static final long MAX_OUTPUT_BYTES = 2L * 1024 * 1024 * 1024;
    /** The largest metadata or metrics part of an output upload. */
    static final int MAX_JSON_PART_BYTES = 1024 * 1024;

    private final ContinuousTrainingService settings;
    private final TrainingRunService runs;
    private final RunSupervisor supervisor;
    private final TrainingStore store;
    private final ReviewService reviews;

    public TrainingRoutes(ContinuousTrainingService settings, TrainingRunService runs, RunSupervisor supervisor,
            TrainingStore store, ReviewService reviews) {
        this.settings = settings;
        this.runs = runs;
        this.supervisor = supervisor;
        this.store = store;
        this.reviews = reviews;
    }

    /**
     * The body of {@code PUT …/continuous-training/active}.
     *
     * @param active whether triggers are evaluated
     */
    public record ActiveBody(Boolean active) {}

    @Override
    public void register(Api api) {
        api.put("/api/deployments/{d}/continuous-training").access(Access.ENGINEER).tag("training")
                .summary("Set up continuous training: triggers (trigger_threshold is a review-threshold trigger), the "
                        + "run name template, GPU type, provisioner and trainer")
                .body("ContinuousTrainingSettings").ok("ContinuousTraining")
                .handle(ctx -> ctx.json(view(settings.configure(ctx.pathParam("d"),
                        Bodies.json(ctx, ContinuousTrainingService.Settings.class), AccessControl.principal(ctx)))));
        api.get("/api/deployments/{d}/continuous-training").access(Access.VIEWER).tag("training")
                .summary("Continuous training settings with each trigger's last decision and the reviews counted "
                        + "toward the next run").ok("ContinuousTraining")
                .handle(ctx -> ctx.json(view(settings.get(ctx.pathParam("d")))));
        api.put("/api/deployments/{d}/continuous-training/active").access(Access.ENGINEER).tag("training")
                .summary("Turn trigger evaluation on or off").body("ActiveRequest").ok("ContinuousTraining")
                .handle(ctx -> {
                    Boolean active = Bodies.json(ctx, ActiveBody.class).active();
                    if (active == null) {
                        throw ApiException.badRequest("invalid_field", "active is required: true or false");
                    }
                    ctx.json(view(settings.setActive(ctx.pathParam("d"), active, AccessControl.principal(ctx))));
                });
        api.get("/api/deployments/{d}/training-runs").access(Access.VIEWER).tag("training")
                .summary("A deployment's training runs, newest first, like a build history").paged()
                .ok("TrainingRunPage")
                .handle(ctx -> ctx.json(runs.list(ctx.pathParam("d"), PageRequest.from(ctx))));
        api.post("/api/deployments/{d}/training-runs").access(Access.ENGINEER).tag("training")
                .summary("Start a training run by hand (one run at a time per deployment)")
                .body("StartTrainingRunRequest").created("TrainingRun")
                .response(409, "application/json", "Error", "A run is in flight, or nothing to train on")
                .handle(ctx -> {
                    var body = ctx.bodyAsBytes().length == 0 ? null
                            : Bodies.json(ctx, TrainingRunService.StartRequest.class);
                    ctx.status(201).json(runs.start(ctx.pathParam("d"), body, AccessControl.principal(ctx)));
                });
        api.get("/api/training-runs/{r}").access(Access.VIEWER).tag("training")
                .summary("A training run: status, trigger and evidence, datasets, device, timings, metrics, result")
                .ok("TrainingRun")
                .handle(ctx -> ctx.json(runs.get(ctx.pathParam("r"))));
        api.get("/api/training-runs/{r}/log").access(Access.VIEWER).tag("training")
                .summary("The run's console from a character offset on; ask again from `next` while it runs")
                .query("from", "integer", "character offset (default 0)")
                .ok("TrainingRunLog")
                .handle(ctx -> {
                    Long from = QueryParams.wholeNumber(ctx, "from");
                    ctx.json(runs.log(ctx.pathParam("r"), from == null ? 0 : from));
                });
        api.post("/api/training-runs/{r}/cancel").access(Access.ENGINEER).tag("training")
                .summary("Cancel a run: a queued one at once, a running one by stopping its job").ok("TrainingRun")
                .handle(ctx -> ctx.json(supervisor.cancel(ctx.pathParam("r"), AccessControl.principal(ctx))));

        // The job wrapper's routes: a run token may call them for its own run only.
        api.get("/api/training-runs/{r}/job").access(Access.RUN).tag("training-job")
                .summary("For the job: what to train (base version, dataset versions and how far to read them, trainer)")
                .ok("TrainingJobDescription")
                .handle(ctx -> ctx.json(runs.job(ctx.pathParam("r"))));
        api.get("/api/training-runs/{r}/datasets/{dv}/export").access(Access.RUN).tag("training-job")
                .summary("For the job: a dataset version as the run saw it (up to its high-water mark), as the "
                        + "training job contract's zip")
                .response(200, "application/zip", null, "manifest.jsonl and assets/")
                .handle(ctx -> {
                    ctx.contentType("application/zip");
                    runs.exportDataset(ctx.pathParam("r"), ctx.pathParam("dv"), out(ctx));
                });
        api.get("/api/training-runs/{r}/base-model").access(Access.RUN).tag("training-job")
                .summary("For the job: the base version's model.json and artifact, as a zip")
                .response(200, "application/zip", null, "model.json and the artifact file(s)")
                .handle(ctx -> {
                    ctx.contentType("application/zip");
                    runs.baseModel(ctx.pathParam("r"), out(ctx));
                });
        api.post("/api/training-runs/{r}/heartbeat").access(Access.RUN).tag("training-job")
                .summary("For the job: I am alive").noContent()
                .handle(ctx -> {
                    runs.heartbeat(ctx.pathParam("r"));
                    ctx.status(204);
                });
        api.post("/api/training-runs/{r}/output").access(Access.RUN).tag("training-job")
                .summary("For the job: upload the trained model (multipart file + metadata + metrics); it is "
                        + "registered as a new version with lineage, checked like any upload")
                .body("multipart/form-data", "TrainingOutputUpload", "file (model.pt or model.zip), metadata "
                        + "(model.json text), metrics (metrics.json text, optional)")
                .created("ModelVersion")
                .maxBodyBytes(MAX_OUTPUT_BYTES)
                .handle(this::output);
    }

    private static java.io.OutputStream out(Context ctx) {
        try {
            return ctx.res().getOutputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void output(Context ctx) {
        var form = MultipartForm.read(ctx, "the parts 'file' (the model), 'metadata' (model.json) and 'metrics' "
                + "(metrics.json, optional)");
        MultipartForm.File file = form.file("file");
        String metadata = form.text("metadata", MAX_JSON_PART_BYTES);
        if (file == null || metadata == null) {
            throw ApiException.badRequest("invalid_field", "the parts 'file' (the model) and 'metadata' (model.json) "
                    + "are required");
        }
        String metricsText = form.text("metrics", MAX_JSON_PART_BYTES);
        Map<String, Object> metrics = metricsText == null || metricsText.isBlank() ? Map.of() : parseMetrics(metricsText);
        try (InputStream in = file.content()) {
            ctx.status(201).json(runs.registerOutput(ctx.pathParam("r"), metadata, file.filename(), in, metrics));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, Object> parseMetrics(String text) {
        try {
            return Json.readMap(text);
        } catch (RuntimeException e) {
            throw ApiException.badRequest("invalid_field", "metrics must be a JSON object such as {\"val_accuracy\": 0.93}");
        }
    }

    /** The settings with what they lead to: each trigger's last decision and the reviews since the last run. */
    private Map<String, Object> view(ContinuousTraining c) {
        @SuppressWarnings("unchecked")
        var m = new LinkedHashMap<String, Object>(Json.mapper().convertValue(settings.withSecretsMasked(c), Map.class));
        m.put("cooldown", c.cooldown().toString());
        m.put("timeout", c.timeout().toString());
        var last = store.latestRun(c.deploymentId());
        Instant since = last.map(TrainingRun::createdAt).orElse(Instant.EPOCH);
        m.put("reviewed_since_last_run", reviews.reviewedSince(c.deploymentId(), since));
        m.put("last_run", last.orElse(null));
        m.put("trigger_states", store.triggerStates(c.deploymentId()));
        return m;
    }
}
