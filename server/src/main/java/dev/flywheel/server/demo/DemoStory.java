package dev.flywheel.server.demo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The loop, told through the public REST API: a model whose first version was trained on the original world is
 * deployed; traffic drifts; a simulated reviewer reviews the queue; the feedback loop fills a dataset version; a trigger
 * starts a run of the built-in trainer; the new version runs as the shadow; the promoter promotes it. Every number it
 * prints comes from the server's answers.
 */
final class DemoStory {

    private static final Pattern EPOCH = Pattern.compile("epoch (\\d+)/(\\d+)[^\\n]*?val_acc ([0-9.]+)");
    /** Events too frequent to tell one by one; the progress bars count them instead. */
    private static final Set<String> QUIET = Set.of("review.bulk", "feedback_loop.enriched");

    private final FlywheelClient client;
    private final DemoSettings s;
    private final Timeline timeline;
    private final String uiBase;
    private final Set<String> seenEvents = new HashSet<>();
    private final List<String> trail = new ArrayList<>();

    private String deploymentId;
    private String v1;
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

    DemoStory(FlywheelClient client, DemoSettings settings, Timeline timeline, String uiBase) {
        this.client = client;
        this.s = settings;
        this.timeline = timeline;
        this.uiBase = uiBase;
    }

    /** Runs the story to its end: a promotion and the after-measurement, a failure, or the timeout. */
    DemoResult run() {
        String name = "demo-features-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        setUp(name);
        var world = new FeatureWorld(s.seed());
        try (var traffic = new Traffic(client, deploymentId, world, s.calm(), s.maxDrifted(), s.rate(), s.threads());
                var reviewer = new Reviewer(client, deploymentId, traffic, s.errorRate(), s.seed() + 1)) {
            traffic.start();
            reviewer.start();
            timeline.line("traffic: " + s.calm() + " predictions from the original world, then the world drifts; "
                    + "a reviewer works through the review queue (" + pct(s.errorRate()) + " of its labels wrong)");
            boolean driftAnnounced = false;
            long deadline = System.nanoTime() + s.timeout().toNanos();
            while (true) {
                if (!driftAnnounced && traffic.drifting()) {
                    driftAnnounced = true;
                    timeline.line("the world drifts: from now on every input comes from the shifted world");
                }
                Poll poll = poll();
                timeline.bars(bars(poll, traffic, reviewer));
                String failure = check(poll, traffic);
                if (failure != null) {
                    return finish(name, traffic, reviewer, failure);
                }
                if (promotedAt > 0 && traffic.drifted(newVersion).total.sum() >= s.after()) {
                    return finish(name, traffic, reviewer, null);
                }
                if (System.nanoTime() > deadline) {
                    return finish(name, traffic, reviewer, "the loop did not close within " + s.timeout().toMinutes()
                            + " min (" + stage() + "); see the events above and " + uiBase);
                }
                sleep(1000);
            }
        }
    }

    private void setUp(String name) {
        byte[] model = resource("model.pt");
        String metadata = new String(resource("model.json"), java.nio.charset.StandardCharsets.UTF_8);
        String modelId = client.post("/api/models", Map.of("name", name)).path("id").asText();
        JsonNode version = client.uploadVersion(modelId, "model.pt", model, metadata);
        v1 = version.path("id").asText();
        timeline.line("model '" + name + "' version 1 (" + v1 + "): the features-3class fixture, which "
                + "fixtures/make_models.py trained on the same three-blob world this demo generates in Java");
        JsonNode deployment = client.post("/api/deployments", Map.of("name", name, "model_version_id", v1));
        deploymentId = deployment.path("id").asText();
        timeline.line("deployment '" + name + "' (" + deploymentId + ") serves version 1: " + uiBase
                + "#/deployments/" + deploymentId);

        String datasetId = client.post("/api/datasets", Map.of("name", name + "-feedback", "description",
                "reviewed predictions of the demo deployment " + name)).path("id").asText();
        String datasetVersion = client.post("/api/datasets/" + datasetId + "/versions", Map.of("name", "reviewed",
                "labels", FeatureWorld.LABELS)).path("id").asText();
        client.post("/api/deployments/" + deploymentId + "/feedback-loop", null);
        client.post("/api/deployments/" + deploymentId + "/feedback-loop/dataset-versions",
                Map.of("dataset_version_id", datasetVersion));
        client.put("/api/deployments/" + deploymentId + "/feedback-loop/active", Map.of("active", true));
        timeline.line("feedback loop on: reviewed predictions become items of dataset version " + datasetVersion);

        var drift = new LinkedHashMap<String, Object>();
        drift.put("window_size", s.driftWindow());
        drift.put("min_window", s.driftMinWindow());
        // The reference is the primary's first traffic: only the calm part of it, so that it is the original world.
        drift.put("reference_size", s.calm());
        var training = new LinkedHashMap<String, Object>();
        training.put("trigger_threshold", s.threshold());
        training.put("triggers", List.of(Map.of("type", "drift", "config", drift)));
        training.put("experiment_name", "demo-retrain-v{n}");
        training.put("provisioner", "local");
        training.put("trainer", Map.of("type", "builtin", "params", Map.of("epochs", s.epochs())));
        // A drift lasts until the promotion; without a cooldown it would start a second run as soon as the first ended.
        training.put("cooldown", "10m");
        training.put("active", true);
        client.put("/api/deployments/" + deploymentId + "/continuous-training", training);
        timeline.line("continuous training on: a run starts after " + s.threshold() + " reviews or when the drift "
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
        timeline.line("continuous deployment on: a new version runs as the shadow; promoter 'paired' promotes it "
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
        if (runs.size() > 0) {
            run = runs.get(0);
            if (runId == null) {
                runId = run.path("id").asText();
            }
            if (runId.equals(run.path("id").asText())) {
                readLog();
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

    private void readLog() {
        JsonNode log = client.get("/api/training-runs/" + runId + "/log?from=" + logOffset);
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
            trail.add(type);
            if (QUIET.contains(type) || (type.equals("promotion.decision")
                    && "KEEP_WAITING".equals(e.at("/data/verdict").asText()))) {
                continue;
            }
            if (type.equals("deployment.promoted") && promotionEvent == null) {
                promotionEvent = e;
            }
            String severity = e.path("severity").asText("info");
            timeline.line((severity.equals("info") ? "" : severity.toUpperCase(Locale.ROOT) + " ") + type + ": "
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
                        + " · on the drifted world: v1 %s%s", Timeline.bar(right, 1, 20), right * 100, answered,
                answered - drifted, drifted, acc(traffic.drifted(v1)),
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
        return lines;
    }

    private DemoResult finish(String name, Traffic traffic, Reviewer reviewer, String failure) {
        traffic.close();
        reviewer.close();
        // The last events (the promotion, its decision) may have landed after the last poll.
        try {
            events();
        } catch (RuntimeException e) {
            // The summary below does not depend on them.
        }
        timeline.finish();
        Traffic.Score before = traffic.drifted(v1);
        Traffic.Score after = newVersion == null ? new Traffic.Score() : traffic.drifted(newVersion);
        int newNumber = newVersion == null ? 0 : client.get("/api/model-versions/" + newVersion).path("version").asInt();
        var result = new DemoResult(name, deploymentId, v1, newVersion, newNumber, promotedAt > 0,
                before.accuracy(), before.total.sum(), after.accuracy(), after.total.sum(),
                traffic.original(v1).accuracy(), reviewer.reviewed(), reviewer.mistakes(), timeline.elapsed(),
                List.copyOf(trail), promotionEvent, failure);
        timeline.text("");
        timeline.text(result.summary(uiBase));
        return result;
    }

    private static byte[] resource(String file) {
        String path = "/demo/features-3class/" + file;
        try (InputStream in = DemoStory.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("the demo's model " + path + " is missing from the server jar; build it "
                        + "with Maven, which copies it from fixtures/models/features-3class");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
