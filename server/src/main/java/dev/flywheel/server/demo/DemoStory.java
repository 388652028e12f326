package dev.flywheel.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The loop in one world, told through the public REST API. First the product makes the model: an untrained version
 * (architecture only) is uploaded and deployed, a dataset version is filled with labelled samples of the original
 * world, a training run of the built-in trainer trains the untrained version on it, and the trained version is
 * promoted by hand. Then the loop: traffic drifts; a simulated reviewer reviews the queue; the feedback loop fills a
 * dataset version; a trigger starts a run of the built-in trainer; the new version runs as the shadow; the promoter
 * promotes it. Every number it prints comes from the server's answers.
 */
final class DemoStory {

    private static final Pattern EPOCH = Pattern.compile("epoch (\\d+)/(\\d+)[^\\n]*?val_acc ([0-9.]+)");
    /** Events too frequent to tell one by one; the progress bars count them instead. */
    private static final Set<String> QUIET = Set.of("review.bulk", "feedback_loop.enriched");
    /** The worlds' deployments share the local provisioner; two jobs at once, so that one world's run waits for none. */
    private static final Map<String, Object> PROVISIONER_CONFIG = Map.of("max_concurrent_jobs", 2);

    private final FlywheelClient client;
    private final DemoSettings s;
    private final World world;
    private final Timeline timeline;
    private final String uiBase;
    private final String prefix;
    private final Set<String> seenEvents = new HashSet<>();
    private final List<String> trail = new ArrayList<>();
    private final List<String> initialTrail = new ArrayList<>();

    private String deploymentId;
    /** The untrained first version, and the run that trained it. */
    private String v0;
    private String initialRunId;
    private String initialRunName;
    private double initialValAccuracy = Double.NaN;
    private long initialTrainItems;
    private long initialValidationItems;
    /** The version the initial run made: the primary when the loop starts. */
    private String v1;
    private int v1Number;
    /** Events before this is set belong to making the first version, not to the loop. */
    private boolean loopStarted;
    private String runId;
    private long logOffset;
    private long reviewsBeforeRun;
    private String epochText = "";
    private double epochDone;
    private double epochTotal;
    private String newVersion;
    private long succeededAt;
    private boolean shadowSeen;
    private long promotedAt;
    private JsonNode promotionEvent;

    DemoStory(FlywheelClient client, DemoSettings settings, World world, Timeline timeline, String uiBase) {
        this.client = client;
        this.s = settings;
        this.world = world;
        this.timeline = timeline;
        this.uiBase = uiBase;
        this.prefix = world.kind() + " · ";
    }

    private void line(String text) {
        timeline.line(prefix + text);
    }

    /** Runs the story to its end: a promotion and the after-measurement, a failure, or the timeout. */
    DemoResult run() {
        long started = System.nanoTime();
        String name = "demo-" + world.kind() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern(
                "yyyyMMdd-HHmmss"));
        String failure = makeFirstVersion(name);
        if (failure != null) {
            return failed(name, failure, started);
        }
        setUpLoop(name);
        try (var traffic = new Traffic(client, deploymentId, world, s.calm(), s.maxDrifted(), s.rate(), s.threads());
                var reviewer = new Reviewer(client, deploymentId, traffic, world.labels(), s.errorRate(),
                        s.seed() + 1)) {
            traffic.start();
            reviewer.start();
            line("traffic: " + s.calm() + " predictions from the original world, then the world drifts ("
                    + world.driftDescription() + "); a reviewer works through the review queue ("
                    + pct(s.errorRate()) + " of its labels wrong)");
            boolean driftAnnounced = false;
            long deadline = System.nanoTime() + s.timeout().toNanos();
            while (true) {
                if (!driftAnnounced && traffic.drifting()) {
                    driftAnnounced = true;
                    line("the world drifts: from now on every input comes from the shifted world");
                }
                Poll poll = poll();
                timeline.bars(world.kind(), bars(poll, traffic, reviewer));
                failure = check(poll, traffic);
                if (failure != null) {
                    return finish(name, traffic, reviewer, failure, started);
                }
                if (promotedAt > 0 && traffic.drifted(newVersion).total.sum() >= s.after()) {
                    return finish(name, traffic, reviewer, null, started);
                }
                if (System.nanoTime() > deadline) {
                    return finish(name, traffic, reviewer, "the loop did not close within " + s.timeout().toMinutes()
                            + " min (" + stage() + "); see the events above and " + uiBase, started);
                }
                sleep(1000);
            }
        }
    }

    /**
     * Makes the model's first trained version with the product itself: uploads the untrained version (architecture
     * only), deploys it, fills a dataset version with labelled samples of the original world, trains the untrained
     * version on it with a training run of the built-in trainer, and promotes the result by hand.
     *
     * @return why it failed, or {@code null}
     */
    private String makeFirstVersion(String name) {
        String modelId = client.post("/api/models", Map.of("name", name)).path("id").asText();
        JsonNode version = client.uploadVersion(modelId, "model.zip", zip("architecture.json",
                world.untrainedArchitecture(s.seed())), world.modelJson());
        v0 = version.path("id").asText();
        line("model '" + name + "' version " + version.path("version").asInt() + " (" + v0 + "): untrained — an "
                + world.network() + " whose weights the djl runtime initialises from seed " + s.seed() + "; the demo "
                + "uploaded only its architecture.json, made in Java");
        JsonNode deployment = client.post("/api/deployments", Map.of("name", name, "model_version_id", v0));
        deploymentId = deployment.path("id").asText();
        line("deployment '" + name + "' (" + deploymentId + ") serves the untrained version: " + uiBase
                + "#/deployments/" + deploymentId);

        // The training data: labelled samples of the original world, from a generator of their own.
        String datasetId = client.post("/api/datasets", Map.of("name", name + "-initial", "description",
                "labelled samples of the original " + world.kind() + " world, generated by the demo")).path("id")
                .asText();
        String initialData = client.post("/api/datasets/" + datasetId + "/versions", Map.of("name", "original-world",
                "labels", world.labels())).path("id").asText();
        World source = world.kind().equals("images") ? new ImageWorld(s.seed() + 7) : new FeatureWorld(s.seed() + 7);
        List<World.Sample> samples = new ArrayList<>();
        for (int i = 0; i < s.initialSamples(); i++) {
            samples.add(source.next(false));
        }
        // A few requests at a time: one by one, a few hundred items take seconds that the story does not need.
        ExecutorService uploads = Executors.newFixedThreadPool(4);
        try {
            var sent = new ArrayList<Future<JsonNode>>();
            for (int i = 0; i < samples.size(); i++) {
                World.Sample sample = samples.get(i);
                // Every fifth sample is held out, so that the run reports accuracy on data it did not train on.
                String split = i % 5 == 4 ? "validation" : "train";
                sent.add(uploads.submit(() -> sample.features() != null
                        ? client.post("/api/dataset-versions/" + initialData + "/items", Map.of("features",
                                sample.features(), "label", sample.label(), "split", split))
                        : client.postMultipart("/api/dataset-versions/" + initialData + "/items", Map.of("label",
                                sample.label(), "split", split), "sample.png", sample.contentType(), sample.payload())));
            }
            for (Future<JsonNode> f : sent) {
                f.get();
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } finally {
            uploads.shutdownNow();
        }
        line("dataset version " + initialData + ": " + s.initialSamples() + " labelled samples of the original world ("
                + world.description() + ")");

        // Continuous training must be configured for a run to start (it names the provisioner and trainer); the
        // triggers stay off until the loop begins.
        var training = new LinkedHashMap<String, Object>();
        training.put("experiment_name", "demo-initial-v{n}");
        training.put("provisioner", "local");
        training.put("provisioner_config", PROVISIONER_CONFIG);
        training.put("trainer", Map.of("type", "builtin", "params", Map.of("epochs", s.initialEpochs(), "seed",
                s.seed())));
        training.put("active", false);
        client.put("/api/deployments/" + deploymentId + "/continuous-training", training);
        JsonNode run = client.post("/api/deployments/" + deploymentId + "/training-runs", Map.of(
                "dataset_version_ids", List.of(initialData),
                "reason", "train the untrained version on " + s.initialSamples() + " samples of the original world"));
        initialRunId = run.path("id").asText();
        initialRunName = run.path("name").asText();
        line("training run " + initialRunName + " started by hand: the built-in trainer trains the untrained version on "
                + "dataset version " + initialData + " (" + s.initialEpochs() + " epochs, local provisioner)");
        long deadline = System.nanoTime() + s.timeout().toNanos();
        while (true) {
            events();
            run = client.get("/api/training-runs/" + initialRunId);
            String status = run.path("status").asText();
            readLog(initialRunId);
            double done = status.equals("SUCCEEDED") ? 1 : epochTotal == 0 ? 0 : epochDone / epochTotal;
            timeline.bars(world.kind(), List.of(String.format(Locale.ROOT, "%-11s %s %s %s %s", world.kind(),
                    Timeline.bar(done, 1, 20), initialRunName, status, epochText)));
            if (status.equals("SUCCEEDED")) {
                break;
            }
            if (status.equals("FAILED") || status.equals("CANCELLED")) {
                return "the training run " + initialRunName + " that trains the first version "
                        + status.toLowerCase(Locale.ROOT) + ": " + run.path("message").asText() + "; its log: "
                        + client.baseUrl() + "/api/training-runs/" + initialRunId + "/log";
            }
            if (System.nanoTime() > deadline) {
                return "the training run " + initialRunName + " that trains the first version did not finish within "
                        + s.timeout().toMinutes() + " min (" + status + ")";
            }
            sleep(1000);
        }
        v1 = run.path("result_model_version_id").asText();
        JsonNode metrics = run.path("metrics");
        initialValAccuracy = metrics.path("val_accuracy").asDouble(Double.NaN);
        initialTrainItems = metrics.path("train_items").asLong();
        initialValidationItems = metrics.path("validation_items").asLong();
        v1Number = client.get("/api/model-versions/" + v1).path("version").asInt();
        logOffset = 0;
        epochDone = 0;
        epochTotal = 0;
        epochText = "";
        // The run's version is only registered (continuous deployment is not set up yet): set it as the shadow and
        // promote it, the way a person would with the API.
        client.put("/api/deployments/" + deploymentId + "/shadow", Map.of("model_version_id", v1));
        client.post("/api/deployments/" + deploymentId + "/promote", null);
        events();
        line(String.format(Locale.ROOT, "version %d (%s): trained by the built-in trainer on %d samples of the original "
                        + "world, validation accuracy %.2f on %d held-out samples (the untrained version: %.2f); "
                        + "promoted by hand, it is the primary", v1Number, v1, initialTrainItems, initialValAccuracy,
                initialValidationItems, metrics.path("base_val_accuracy").asDouble(Double.NaN)));
        // Drift is measured against the data the primary was trained on.
        client.put("/api/deployments/" + deploymentId + "/reference", Map.of("dataset_version_id", initialData));
        return null;
    }

    private void setUpLoop(String name) {
        String datasetId = client.post("/api/datasets", Map.of("name", name + "-feedback", "description",
                "reviewed predictions of the demo deployment " + name)).path("id").asText();
        String datasetVersion = client.post("/api/datasets/" + datasetId + "/versions", Map.of("name", "reviewed",
                "labels", world.labels())).path("id").asText();
        client.post("/api/deployments/" + deploymentId + "/feedback-loop", null);
        client.post("/api/deployments/" + deploymentId + "/feedback-loop/dataset-versions",
                Map.of("dataset_version_id", datasetVersion));
        client.put("/api/deployments/" + deploymentId + "/feedback-loop/active", Map.of("active", true));
        line("feedback loop on: reviewed predictions become items of dataset version " + datasetVersion);

        var drift = new LinkedHashMap<String, Object>();
        drift.put("window_size", s.driftWindow());
        drift.put("min_window", s.driftMinWindow());
        // The reference: the dataset version the primary was trained on (set above).
        drift.put("reference_size", s.initialSamples());
        var training = new LinkedHashMap<String, Object>();
        training.put("trigger_threshold", s.threshold());
        training.put("triggers", List.of(Map.of("type", "drift", "config", drift)));
        training.put("experiment_name", "demo-retrain-v{n}");
        training.put("provisioner", "local");
        training.put("provisioner_config", PROVISIONER_CONFIG);
        training.put("trainer", Map.of("type", "builtin", "params", Map.of("epochs", s.epochs())));
        // A drift lasts until the promotion; without a cooldown it would start a second run as soon as the first ended.
        // (The run started by hand above does not count: the cooldown is between triggered runs.)
        training.put("cooldown", "10m");
        training.put("active", true);
        client.put("/api/deployments/" + deploymentId + "/continuous-training", training);
        loopStarted = true;
        line("continuous training on: a run starts after " + s.threshold() + " reviews or when the drift "
                + "trigger sees the traffic move (window " + s.driftWindow() + "), built-in trainer, " + s.epochs()
                + " epochs, local provisioner");

        var deploymentPolicy = new LinkedHashMap<String, Object>();
        deploymentPolicy.put("policy", "shadow");
        deploymentPolicy.put("promoter", "paired");
        deploymentPolicy.put("promotion_threshold", s.promotionThreshold());
        deploymentPolicy.put("min_samples", s.minSamples());
        deploymentPolicy.put("significance", s.significance());
        deploymentPolicy.put("evaluation_interval", "5s");
        client.put("/api/deployments/" + deploymentId + "/continuous-deployment", deploymentPolicy);
        client.put("/api/deployments/" + deploymentId + "/continuous-deployment/active", Map.of("active", true));
        line("continuous deployment on: a new version runs as the shadow; promoter 'paired' promotes it "
                + "after " + s.minSamples() + " paired reviewed predictions if it is " + pts(s.promotionThreshold())
                + " more accurate (McNemar p < " + s.significance() + ")");
    }

    /** What the server says now. */
    private record Poll(JsonNode deployment, JsonNode training, JsonNode run, JsonNode comparison, JsonNode decision) {}

    private Poll poll() {
        events();
        JsonNode deployment = client.get("/api/deployments/" + deploymentId);
        JsonNode training = client.get("/api/deployments/" + deploymentId + "/continuous-training");
        JsonNode runs = client.get("/api/deployments/" + deploymentId + "/training-runs?limit=1").path("items");
        JsonNode run = null;
        // The run that trained the first version is not the loop's.
        if (runs.size() > 0 && !runs.get(0).path("id").asText().equals(initialRunId)) {
            run = runs.get(0);
            if (runId == null) {
                runId = run.path("id").asText();
            }
            if (runId.equals(run.path("id").asText())) {
                readLog(runId);
            }
        }
        JsonNode comparison = null;
        if (!deployment.path("shadow_model_version_id").isNull()
                && !deployment.path("shadow_model_version_id").isMissingNode()) {
            try {
                comparison = client.get("/api/deployments/" + deploymentId + "/comparison");
            } catch (FlywheelClient.ApiError e) {
                // 409: the shadow went away between the two requests; the next poll sees it.
            }
        }
        JsonNode cd = client.get("/api/deployments/" + deploymentId + "/continuous-deployment");
        return new Poll(deployment, training, run, comparison, cd.path("last_decision"));
    }

    private void readLog(String id) {
        JsonNode log = client.get("/api/training-runs/" + id + "/log?from=" + logOffset);
        String text = log.path("text").asText("");
        logOffset = log.path("next").asLong(logOffset + text.length());
        Matcher m = EPOCH.matcher(text);
        while (m.find()) {
            epochDone = Double.parseDouble(m.group(1));
            epochTotal = Double.parseDouble(m.group(2));
            epochText = "epoch " + m.group(1) + "/" + m.group(2) + " val_acc " + m.group(3);
        }
    }

    private void events() {
        JsonNode items = client.get("/api/events?deployment_id=" + deploymentId + "&limit=100").path("items");
        var fresh = new ArrayDeque<JsonNode>();
        for (JsonNode e : items) {
            if (seenEvents.add(e.path("id").asText())) {
                fresh.addFirst(e);
            }
        }
        for (JsonNode e : fresh) {
            String type = e.path("type").asText();
            (loopStarted ? trail : initialTrail).add(type);
            if (QUIET.contains(type) || (type.equals("promotion.decision")
                    && "KEEP_WAITING".equals(e.at("/data/verdict").asText()))) {
                continue;
            }
            if (type.equals("deployment.promoted") && promotionEvent == null && loopStarted) {
                promotionEvent = e;
            }
            String severity = e.path("severity").asText("info");
            line((severity.equals("info") ? "" : severity.toUpperCase(Locale.ROOT) + " ") + type + ": "
                    + shorten(e.path("message").asText(), 220));
        }
    }

    /** A failure, or {@code null} while the story goes on. Also notes the stages reached. */
    private String check(Poll p, Traffic traffic) {
        if (traffic.errors() > 0 && traffic.answered() == 0) {
            return "predictions fail: " + traffic.firstError();
        }
        if (p.run() != null && runId != null && runId.equals(p.run().path("id").asText())) {
            String status = p.run().path("status").asText();
            if (status.equals("FAILED") || status.equals("CANCELLED")) {
                return "training run " + p.run().path("name").asText() + " " + status.toLowerCase(Locale.ROOT) + ": "
                        + p.run().path("message").asText() + "; its log: " + client.baseUrl() + "/api/training-runs/"
                        + runId + "/log";
            }
            if (status.equals("SUCCEEDED") && newVersion == null) {
                newVersion = p.run().path("result_model_version_id").asText();
                succeededAt = System.nanoTime();
            }
        }
        String primary = p.deployment().path("primary_model_version_id").asText();
        String shadow = p.deployment().path("shadow_model_version_id").asText(null);
        if (newVersion != null) {
            if (newVersion.equals(shadow)) {
                shadowSeen = true;
            }
            if (newVersion.equals(primary) && promotedAt == 0) {
                promotedAt = System.nanoTime();
            }
            if (promotedAt == 0 && shadowSeen && shadow == null) {
                return "the promoter did not promote the new version: " + p.decision().path("verdict").asText()
                        + ", " + p.decision().path("reason").asText();
            }
            if (!shadowSeen && promotedAt == 0 && System.nanoTime() - succeededAt > Duration.ofSeconds(60).toNanos()) {
                return "run " + p.run().path("name").asText() + " registered version " + newVersion + ", but 60 s "
                        + "later continuous deployment (policy shadow) had not set it as the shadow: the server did not "
                        + "apply the policy to the new version (no continuous_deployment.new_version event)";
            }
        }
        if (promotedAt == 0 && traffic.exhausted()) {
            return "all " + traffic.maxDrifted() + " drifted predictions were sent before the loop closed ("
                    + stage() + "); give more with --drifted";
        }
        return null;
    }

    private String stage() {
        if (runId == null) {
            return "no training run started";
        }
        if (newVersion == null) {
            return "the training run had not finished";
        }
        if (promotedAt == 0) {
            return shadowSeen ? "the shadow was still under evaluation" : "the new version was not the shadow yet";
        }
        return "the promoted version had answered too few drifted predictions";
    }

    private List<String> bars(Poll p, Traffic traffic, Reviewer reviewer) {
        var lines = new ArrayList<String>();
        long drifted = traffic.driftedAnswered();
        long answered = traffic.answered();
        String serving = p.deployment().path("primary_model_version_id").asText();
        // The bar is how often the deployment is right now: its serving version on the world as it is now.
        Traffic.Score current = traffic.drifting() ? traffic.drifted(serving) : traffic.original(serving);
        double right = current.total.sum() == 0 ? 0 : current.accuracy();
        lines.add(String.format(Locale.ROOT, "traffic     %s %3.0f%% right · %d predictions (%d original, %d drifted)"
                        + " · on the drifted world: v%d %s%s", Timeline.bar(right, 1, 20), right * 100, answered,
                answered - drifted, drifted, v1Number, acc(traffic.drifted(v1)),
                serving.equals(v1) ? "" : ", promoted version " + acc(traffic.drifted(serving))));
        long sinceRun = p.training().path("reviewed_since_last_run").asLong();
        if (runId == null) {
            reviewsBeforeRun = sinceRun;
            String drift = "";
            for (JsonNode t : p.training().path("trigger_states")) {
                if (t.path("type").asText().equals("drift")) {
                    drift = " · drift trigger: " + shorten(t.path("reason").asText(), 80);
                }
            }
            lines.add(String.format(Locale.ROOT, "reviews     %s %d/%d toward the threshold · %d reviewed, %d "
                            + "corrected%s", Timeline.bar(sinceRun, s.threshold(), 20), sinceRun, s.threshold(),
                    reviewer.reviewed(), reviewer.corrected(), drift));
        } else {
            String by = p.run() == null ? "?" : p.run().at("/trigger/type").asText("?");
            lines.add(String.format(Locale.ROOT, "reviews     %s %d/%d when the %s trigger started the run · %d "
                            + "reviewed, %d corrected", Timeline.bar(reviewsBeforeRun, s.threshold(), 20),
                    reviewsBeforeRun, s.threshold(), by, reviewer.reviewed(), reviewer.corrected()));
        }
        if (p.run() != null) {
            String status = p.run().path("status").asText();
            double done = status.equals("SUCCEEDED") ? 1 : epochTotal == 0 ? 0 : epochDone / epochTotal;
            lines.add(String.format(Locale.ROOT, "training    %s %s %s %s", Timeline.bar(done, 1, 20),
                    p.run().path("name").asText(), status, status.equals("SUCCEEDED")
                            ? String.format(Locale.ROOT, "val_acc %.3f (base %.3f)",
                                    p.run().at("/metrics/val_accuracy").asDouble(),
                                    p.run().at("/metrics/base_val_accuracy").asDouble())
                            : epochText));
        } else {
            lines.add("training    " + Timeline.bar(0, 1, 20) + " waiting for a trigger");
        }
        if (p.comparison() != null) {
            JsonNode o = p.comparison().path("overall");
            long n = o.path("paired_reviewed").asLong();
            lines.add(String.format(Locale.ROOT, "comparison  %s %d/%d paired reviewed · primary %s · shadow %s · "
                            + "McNemar p=%s", Timeline.bar(n, s.minSamples(), 20), n, s.minSamples(),
                    num(o.at("/primary_accuracy/value")), num(o.at("/shadow_accuracy/value")),
                    num(o.at("/mcnemar/p_value"))));
        } else if (promotedAt > 0) {
            lines.add("comparison  " + Timeline.bar(1, 1, 20) + " promoted");
        } else {
            lines.add("comparison  " + Timeline.bar(0, 1, 20) + " no shadow yet");
        }
        lines.replaceAll(l -> String.format(Locale.ROOT, "%-9s%s", world.kind(), l));
        return lines;
    }

    private DemoResult finish(String name, Traffic traffic, Reviewer reviewer, String failure, long started) {
        traffic.close();
        reviewer.close();
        // The last events (the promotion, its decision) may have landed after the last poll.
        try {
            events();
        } catch (RuntimeException e) {
            // The summary below does not depend on them.
        }
        timeline.bars(world.kind(), List.of());
        Traffic.Score before = traffic.drifted(v1);
        Traffic.Score after = newVersion == null ? new Traffic.Score() : traffic.drifted(newVersion);
        int newNumber = newVersion == null ? 0 : client.get("/api/model-versions/" + newVersion).path("version").asInt();
        return result(name, newNumber, before, after, traffic.original(v1).accuracy(), reviewer.reviewed(),
                reviewer.mistakes(), failure, started);
    }

    /** The result when the first version could not be made. */
    private DemoResult failed(String name, String failure, long started) {
        timeline.bars(world.kind(), List.of());
        return result(name, 0, new Traffic.Score(), new Traffic.Score(), Double.NaN, 0, 0, failure, started);
    }

    private DemoResult result(String name, int newNumber, Traffic.Score before, Traffic.Score after,
            double originalAccuracy, long reviewed, long mistakes, String failure, long started) {
        var result = new DemoResult(world.kind(), name, deploymentId, v0, initialRunName, initialTrainItems,
                initialValAccuracy, v1, v1Number, newVersion, newNumber, promotedAt > 0, before.accuracy(),
                before.total.sum(), after.accuracy(), after.total.sum(), originalAccuracy, reviewed, mistakes,
                Duration.ofNanos(System.nanoTime() - started), List.copyOf(initialTrail), List.copyOf(trail),
                promotionEvent, failure);
        timeline.text("");
        timeline.text(result.summary(uiBase));
        return result;
    }

    /** A zip holding one text file: the artifact of the untrained version. */
    private static byte[] zip(String fileName, String text) {
        var bytes = new java.io.ByteArrayOutputStream();
        try (var zip = new java.util.zip.ZipOutputStream(bytes)) {
            zip.putNextEntry(new java.util.zip.ZipEntry(fileName));
            zip.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            zip.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static String acc(Traffic.Score score) {
        return score.total.sum() == 0 ? "-" : String.format(Locale.ROOT, "%.2f (%d)", score.accuracy(),
                score.total.sum());
    }

    private static String num(JsonNode n) {
        return n == null || n.isMissingNode() || n.isNull() ? "-" : n.asDouble() < 0.001 && n.asDouble() > 0
                ? String.format(Locale.ROOT, "%.1e", n.asDouble()) : String.format(Locale.ROOT, "%.3f", n.asDouble());
    }

    private static String pct(double share) {
        return String.format(Locale.ROOT, "%.0f%%", share * 100);
    }

    private static String pts(double gain) {
        return String.format(Locale.ROOT, "%.0f points", gain * 100);
    }

    private static String shorten(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 1) + "…";
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }
}
