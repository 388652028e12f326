package dev.flywheel.server;

import dev.flywheel.server.access.AccessControl;
import dev.flywheel.server.access.TokenRoutes;
import dev.flywheel.server.access.TokenService;
import dev.flywheel.server.access.TokenStore;
import dev.flywheel.server.blobs.BlobStore;
import dev.flywheel.server.blobs.LocalBlobStore;
import dev.flywheel.server.config.ServerSettings;
import dev.flywheel.server.datasets.DatasetRoutes;
import dev.flywheel.server.datasets.DatasetService;
import dev.flywheel.server.datasets.DatasetStore;
import dev.flywheel.server.events.EventRoutes;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.events.EventStore;
import dev.flywheel.server.feedback.FeedbackLoopService;
import dev.flywheel.server.feedback.FeedbackLoopStore;
import dev.flywheel.server.feedback.FeedbackRoutes;
import dev.flywheel.server.feedback.ReviewService;
import dev.flywheel.server.feedback.ReviewStore;
import dev.flywheel.server.http.Api;
import dev.flywheel.server.http.HttpErrors;
import dev.flywheel.server.http.Json;
import dev.flywheel.server.http.OpenApiDocument;
import dev.flywheel.server.http.RouteSpec;
import dev.flywheel.server.http.SystemRoutes;
import dev.flywheel.server.metrics.Metrics;
import dev.flywheel.server.persistence.Database;
import dev.flywheel.server.plugins.PluginHost;
import dev.flywheel.server.plugins.PluginRoutes;
import dev.flywheel.server.promotion.BakeStore;
import dev.flywheel.server.promotion.BakeWatch;
import dev.flywheel.server.promotion.ComparisonService;
import dev.flywheel.server.promotion.ComparisonStore;
import dev.flywheel.server.promotion.ContinuousDeploymentStore;
import dev.flywheel.server.promotion.LatencyProbes;
import dev.flywheel.server.promotion.ContinuousDeploymentService;
import dev.flywheel.server.promotion.DecisionLog;
import dev.flywheel.server.promotion.PromotionEvaluator;
import dev.flywheel.server.promotion.PromotionJob;
import dev.flywheel.server.promotion.PromotionRoutes;
import dev.flywheel.server.promotion.PromotionService;
import dev.flywheel.server.registry.ModelRoutes;
import dev.flywheel.server.registry.RegistryService;
import dev.flywheel.server.registry.RegistryStore;
import dev.flywheel.server.scheduling.Scheduling;
import dev.flywheel.server.serving.DeploymentRoutes;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.server.serving.DeploymentStore;
import dev.flywheel.server.serving.ModelCache;
import dev.flywheel.server.serving.ModelFailures;
import dev.flywheel.server.serving.ModelRuntimes;
import dev.flywheel.server.serving.PredictionRoutes;
import dev.flywheel.server.serving.PredictionService;
import dev.flywheel.server.serving.PredictionStore;
import dev.flywheel.server.serving.PredictionWriter;
import dev.flywheel.server.shadow.ShadowBackfill;
import dev.flywheel.server.shadow.ShadowResultWriter;
import dev.flywheel.server.shadow.ShadowRoutes;
import dev.flywheel.server.shadow.ShadowRunner;
import dev.flywheel.server.shadow.ShadowService;
import dev.flywheel.server.shadow.ShadowStore;
import dev.flywheel.server.training.ContinuousTrainingService;
import dev.flywheel.server.training.Provisioners;
import dev.flywheel.server.training.ReferenceOutliers;
import dev.flywheel.server.training.RunSupervisor;
import dev.flywheel.server.training.TrainingRoutes;
import dev.flywheel.server.training.TrainingRunService;
import dev.flywheel.server.training.TrainingSamples;
import dev.flywheel.server.training.TrainingStore;
import dev.flywheel.server.training.TriggerEvaluator;
import dev.flywheel.server.plugins.ExtensionGateway;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import dev.flywheel.spi.runtime.ModelRuntimeFactory;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import io.javalin.Javalin;
import io.javalin.http.staticfiles.Location;
import io.javalin.json.JavalinJackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the server together and nothing else: the database, the services of each capability, the plugin host, the
 * scheduler and the HTTP API. {@link #start} brings it all up; {@link #close} takes it down in reverse order.
 */
public final class FlywheelServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FlywheelServer.class);
    /** How long a stop waits for the requests in flight. */
    private static final long STOP_TIMEOUT_MS = 30_000;

    private final ServerSettings settings;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Javalin app;
    private Api api;
    private Optional<String> generatedAdminToken = Optional.empty();
    private EventService events;
    private Scheduling scheduling;

    private FlywheelServer(ServerSettings settings) {
        this.settings = settings;
    }

    /** Starts a server with these settings; on failure everything already started is closed again. */
    public static FlywheelServer start(ServerSettings settings) {
        var server = new FlywheelServer(settings);
        try {
            server.boot();
            return server;
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    private void boot() {
        try {
            Files.createDirectories(settings.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data directory " + settings.dataDir(), e);
        }
        Clock clock = Clock.systemUTC();
        Metrics metrics = remember(new Metrics());
        Database database = remember(Database.open(settings));
        events = new EventService(new EventStore(database.jdbi()), clock, metrics.registry());
        var tokens = new TokenService(new TokenStore(database.jdbi()), events, clock);
        generatedAdminToken = tokens.bootstrapAdmin(settings.adminToken());
        PluginHost plugins = remember(new PluginHost(settings.pluginsDir(), ServerVersion.SPI, events));
        plugins.start();
        for (String state : List.of("started", "failed", "disabled")) {
            metrics.registry().gauge("flywheel.plugins", io.micrometer.core.instrument.Tags.of("state", state), plugins,
                    p -> p.list().stream().filter(i -> i.state().equals(state)).count());
        }
        Scheduling scheduling = remember(new Scheduling(database, null, 4));
        this.scheduling = scheduling;

        // One gateway per extension point: how the core finds, validates, names, calls and contains extensions.
        Path extensions = settings.dataDir().resolve("extensions");
        var meters = metrics.registry();
        var runtimePoint = remember(gateway(plugins, ModelRuntimeFactory.class, "model_runtime", "model runtime",
                extensions, clock, meters));
        var promoterPoint = remember(gateway(plugins, PromotionPolicyFactory.class, "promotion_policy", "promoter",
                extensions, clock, meters));
        var triggerPoint = remember(gateway(plugins, RetrainingTriggerFactory.class, "retraining_trigger", "trigger",
                extensions, clock, meters));
        var provisionerPoint = remember(gateway(plugins, GpuProvisionerFactory.class, "gpu_provisioner",
                "GPU provisioner", extensions, clock, meters));

        BlobStore blobs = new LocalBlobStore(settings.dataDir().resolve("blobs"));
        ModelRuntimes runtimes = remember(new ModelRuntimes(runtimePoint, events));
        var registry = new RegistryService(new RegistryStore(database.jdbi()), blobs, runtimes, events, clock,
                settings.dataDir());
        ModelCache models = remember(new ModelCache(registry, runtimes));
        var deployments = new DeploymentService(new DeploymentStore(database.jdbi()), registry, models, events, clock);
        var predictionStore = new PredictionStore(database.jdbi());
        // Remembered before the prediction writer, so closed after it: its last rows may still take a shadow result.
        var shadowStore = new ShadowStore(database.jdbi());
        ShadowResultWriter shadowResults = remember(new ShadowResultWriter(shadowStore, 500, 100_000,
                metrics.registry()));
        ShadowRunner shadowRunner = remember(new ShadowRunner(models, shadowResults, metrics.registry(),
                Math.max(1, Runtime.getRuntime().availableProcessors() / 4), 128, settings.shadowIdlePriority()));
        ModelFailures failures = remember(new ModelFailures(database.jdbi()));
        // Remembered last, so closed first: it flushes every accepted prediction while the database is still open.
        PredictionWriter writer = remember(new PredictionWriter(predictionStore, database.availability(), 500, 100_000,
                metrics.registry()));
        var predictions = new PredictionService(deployments, models, runtimes, registry, blobs, writer,
                predictionStore, failures, metrics.registry(), clock);
        writer.beforeInsert(shadowRunner::join);
        predictions.shadowHook(shadowRunner);

        var datasetStore = new DatasetStore(database.jdbi());
        var datasets = new DatasetService(datasetStore, blobs, events, clock);
        var reviews = new ReviewService(new ReviewStore(database.jdbi()), predictions, deployments, registry, events,
                clock);
        var loops = new FeedbackLoopService(new FeedbackLoopStore(database.jdbi(), datasetStore), blobs, deployments,
                datasets, registry, events, clock);
        reviews.onReviewed(loops::flow);

        var shadows = new ShadowService(deployments, registry, models, predictions, shadowRunner, shadowStore, events);
        // Skipped shadow inputs that people review are run later, so that a busy machine still gathers evidence.
        ShadowBackfill backfill = remember(new ShadowBackfill(deployments, predictions, shadowRunner, shadowStore,
                metrics.registry(), clock, settings.shadowBackfillPercent()));
        reviews.onReviewed(backfill::wake);
        var probes = new LatencyProbes(models, predictions);
        var comparisons = new ComparisonService(deployments, new ComparisonStore(database.jdbi()), probes, clock);
        var bakes = new BakeWatch(new BakeStore(database.jdbi()), failures, probes, clock);
        var cdStore = new ContinuousDeploymentStore(database.jdbi());
        var promotions = new PromotionService(cdStore, deployments, shadows, comparisons, bakes, registry, models,
                events, metrics.registry(), clock);
        PromotionEvaluator promotionEvaluator = remember(new PromotionEvaluator(cdStore, deployments, shadows,
                comparisons, promotions, promoterPoint, new DecisionLog(cdStore, events, metrics.registry(), clock),
                events));
        var continuousDeployment = new ContinuousDeploymentService(cdStore, deployments, promoterPoint, promotions,
                promotionEvaluator, scheduling, events, clock);
        reviews.onReviewed(promotionEvaluator::evaluateSoon);
        scheduling.register(PromotionJob.class, () -> new PromotionJob(promotionEvaluator));

        var trainingStore = new TrainingStore(database.jdbi());
        Provisioners provisioners = remember(new Provisioners(provisionerPoint));
        var continuousTraining = new ContinuousTrainingService(trainingStore, deployments, triggerPoint, provisioners,
                events, clock);
        var runs = new TrainingRunService(trainingStore, deployments, loops, datasets, registry, events, clock);
        registry.runDatasets(runs::datasetVersionsOf);
        // A version a run made becomes the shadow, the primary, or just a version, as continuous deployment says.
        runs.onNewVersion(promotions::onNewVersion);
        var supervisor = new RunSupervisor(trainingStore, runs, provisioners, tokens, events, clock, this::serverUrl,
                settings.pluginsDir());
        var samples = new TrainingSamples(predictions, deployments, datasets, blobs);
        reviews.outlierDetector(new ReferenceOutliers(samples, clock));
        TriggerEvaluator triggers = remember(new TriggerEvaluator(trainingStore, runs, reviews, samples, triggerPoint,
                events, clock));
        reviews.onReviewed(triggers::evaluateSoon);
        scheduling.register(RunSupervisor.SupervisorJob.class, () -> new RunSupervisor.SupervisorJob(supervisor));
        scheduling.register(TriggerEvaluator.EvaluationJob.class, () -> new TriggerEvaluator.EvaluationJob(triggers));
        scheduling.start();
        scheduling.every("training-supervisor", RunSupervisor.SupervisorJob.class, settings.supervisorInterval(),
                java.util.Map.of());
        scheduling.every("trigger-evaluation", TriggerEvaluator.EvaluationJob.class, settings.triggerInterval(),
                java.util.Map.of());

        var access = new AccessControl(tokens);
        List<Api.Routes> routes = List.of(
                new SystemRoutes(database, scheduling, metrics, ServerVersion.SERVER,
                        () -> OpenApiDocument.render(api.specs(), ServerVersion.SERVER)),
                new TokenRoutes(tokens),
                new EventRoutes(events),
                new PluginRoutes(plugins, settings.maxPluginBytes()),
                new ModelRoutes(registry),
                new DeploymentRoutes(deployments),
                new PredictionRoutes(predictions),
                new DatasetRoutes(datasets),
                new FeedbackRoutes(reviews, loops),
                new ShadowRoutes(shadows),
                new PromotionRoutes(comparisons, continuousDeployment, promotions),
                new TrainingRoutes(continuousTraining, runs, supervisor, trainingStore, reviews));

        app = Javalin.create(config -> {
            config.jsonMapper(new JavalinJackson(Json.mapper(), false));
            config.http.maxRequestSize = settings.maxRequestBytes();
            config.http.defaultContentType = "application/json";
            config.concurrency.useVirtualThreads = Runtime.version().feature() >= 21;
            config.startup.showJavalinBanner = false;
            config.staticFiles.add(sf -> {
                sf.hostedPath = "/";
                sf.directory = "/flywheel-ui";
                sf.location = Location.CLASSPATH;
            });
            // The UI's third-party JavaScript (lit-html) is served from its WebJar at /webjars/.
            config.staticFiles.enableWebjars();
            config.requestLogger.http(metrics::recordRequest);
            config.jetty.modifyServer(server -> {
                HttpErrors.install(server);
                // A stop lets the requests in flight finish (up to 30 s) and refuses new ones with 503; only then
                // does close() flush the prediction writer and close the database.
                server.insertHandler(new org.eclipse.jetty.server.handler.GracefulHandler());
                server.setStopTimeout(STOP_TIMEOUT_MS);
            });
            config.routes.beforeMatched(ctx -> {
                // Before the handler runs, the route is known as the matched endpoint, not yet as the last one run.
                var matched = ctx.endpoints().matchedHttpEndpoint();
                RouteSpec spec = matched == null ? null : matched.metadata(RouteSpec.class);
                HttpErrors.checkDatabase(spec, database.availability());
                access.check(ctx);
                HttpErrors.checkContentLength(ctx, spec, settings.maxRequestBytes());
                HttpErrors.checkCharset(ctx);
                HttpErrors.checkParameters(ctx);
            });
            HttpErrors.register(config.routes, database.availability());
            api = new Api(config.routes);
            routes.forEach(r -> r.register(api));
        });
        if (settings.host() != null) {
            app.start(settings.host(), settings.port());
        } else {
            app.start(settings.port());
        }
        events.event("server.started", "Flywheel " + ServerVersion.SERVER + " started on port " + app.port())
                .data(java.util.Map.of("database", database.isPostgres() ? "postgresql" : "h2",
                        "plugins_dir", settings.pluginsDir().toString()))
                .record();
        LOG.info("Flywheel {} listening on port {} (database: {}, data: {}, plugins: {})", ServerVersion.SERVER,
                app.port(), database.isPostgres() ? "PostgreSQL" : "H2", settings.dataDir(), settings.pluginsDir());
    }

    private static <F extends ExtensionFactory> ExtensionGateway<F> gateway(PluginHost plugins, Class<F> point,
            String name, String noun, Path extensions, Clock clock, io.micrometer.core.instrument.MeterRegistry meters) {
        return new ExtensionGateway<>(plugins, point, name, noun, extensions.resolve(name), clock,
                ExtensionGateway.DEFAULT_TIMEOUT, meters);
    }

    private <T extends AutoCloseable> T remember(T closeable) {
        closeables.add(closeable);
        return closeable;
    }

    /** How training jobs reach this server: the public URL when set, else this host's loopback. */
    private String serverUrl() {
        return settings.publicUrl() != null ? settings.publicUrl() : "http://127.0.0.1:" + app.port();
    }

    /** The port the HTTP API listens on. */
    public int port() {
        return app.port();
    }

    /** The admin token generated at first start when none was configured; shown once. */
    public Optional<String> generatedAdminToken() {
        return generatedAdminToken;
    }

    /** Every declared route. */
    public List<RouteSpec> routes() {
        return api.specs();
    }

    /** The Javalin instance, for tests that compare registered handlers with the declared routes. */
    Javalin javalin() {
        return app;
    }

    public ServerSettings settings() {
        return settings;
    }

    /**
     * Stops accepting requests, lets running ones finish (Jetty's graceful stop, up to 30 s), then closes in reverse
     * order of start: the scheduler, the prediction writer (writing every accepted prediction), loaded models and
     * runtimes, plugins, and the database last. The {@code flywheel server} command calls it from its shutdown hook;
     * H2's own hook is off (see {@link Database#H2_OPTIONS}), so nothing closes the database under the writer.
     */
    @Override
    public synchronized void close() {
        if (app != null) {
            app.stop();
            app = null;
        }
        // Scheduled jobs use nearly everything below; they stop first, and close() waits for running ones.
        if (scheduling != null) {
            scheduling.close();
            scheduling = null;
        }
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception e) {
                LOG.warn("error while stopping {}: {}", closeables.get(i).getClass().getSimpleName(), e.toString());
            }
        }
        closeables.clear();
    }
}
