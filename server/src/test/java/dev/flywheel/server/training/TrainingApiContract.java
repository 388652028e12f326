package dev.flywheel.server.training;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.ServerContract;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Continuous training through the API with real plugins: triggers, runs on the local provisioner (child processes
 * running {@code flywheel job run}), command trainers, failures, cancellation, timeouts, GPU requests. On H2 and
 * PostgreSQL. The built-in trainer's learning is proved end to end in {@link TrainingLoopTest}.
 */
public abstract class TrainingApiContract extends ServerContract {

    /** A command trainer that makes no better model but follows the training job contract to the letter. */
    static final String COPY_TRAINER = "n=$(wc -l < \"$FLYWHEEL_DATASET_DIR/manifest.jsonl\"); "
            + "cp \"$FLYWHEEL_BASE_MODEL_DIR/model.json\" \"$FLYWHEEL_BASE_MODEL_DIR/model.pt\" \"$FLYWHEEL_OUTPUT_DIR/\" "
            + "&& echo \"{\\\"val_accuracy\\\": 0.5, \\\"items\\\": $n}\" > \"$FLYWHEEL_OUTPUT_DIR/metrics.json\" "
            + "&& echo \"copied the base model; $n items; params $FLYWHEEL_PARAMS; run $FLYWHEEL_RUN_NAME\"";

    String versionId;

    @Override
    protected dev.flywheel.server.config.ServerSettings settings(dev.flywheel.server.config.ServerSettings defaults) {
        return defaults.withIntervals(java.time.Duration.ofSeconds(1), java.time.Duration.ofMillis(500));
    }

    @BeforeAll
    void setUp() throws IOException {
        versionId = Fixtures.upload(http, ADMIN, "trainable", Fixtures.FEATURES).path("id").asText();
    }

    @Test
    void aCommandTrainerRunsUnderTheJobContractAndRegistersAVersionWithLineage() {
        var d = deploymentWithData(10);
        configure(d.id(), "{\"experiment_name\": \"nightly-{n}\", \"trainer\": {\"type\": \"command\", "
                + "\"command\": [\"/bin/sh\", \"-c\", " + json(COPY_TRAINER) + "], \"params\": {\"lr\": 0.1}}}");
        JsonNode run = startRun(d.id());
        assertThat(run.path("name").asText()).isEqualTo("nightly-1");
        assertThat(run.path("status").asText()).isEqualTo("QUEUED");
        assertThat(run.at("/trigger/type").asText()).isEqualTo("manual");
        assertThat(run.at("/dataset_versions/0/dataset_version_id").asText()).isEqualTo(d.datasetVersionId());
        assertThat(run.at("/dataset_versions/0/high_water_mark").asLong()).isPositive();

        JsonNode done = awaitRun(run.path("id").asText(), r -> r.path("status").asText().equals("SUCCEEDED"));
        assertThat(done.path("device").asText()).startsWith("cpu");
        assertThat(done.at("/metrics/val_accuracy").asDouble()).isEqualTo(0.5);
        assertThat(done.at("/metrics/items").asInt()).isEqualTo(10);
        assertThat(done.path("started_at").asText()).isNotEmpty();
        assertThat(done.path("finished_at").asText()).isNotEmpty();
        String log = http.get("/api/training-runs/" + run.path("id").asText() + "/log", ADMIN).json().path("text").asText();
        assertThat(log).contains("copied the base model; 10 items; params {\"lr\":0.1}; run nightly-1")
                .contains("registered version 2");

        String version = done.path("result_model_version_id").asText();
        JsonNode lineage = http.get("/api/model-versions/" + version + "/lineage", ADMIN).json();
        assertThat(lineage.path("parent_version_id").asText()).isEqualTo(versionId);
        assertThat(lineage.path("training_run_id").asText()).isEqualTo(run.path("id").asText());
        assertThat(lineage.path("dataset_version_ids").get(0).asText()).isEqualTo(d.datasetVersionId());
        assertThat(eventTypes(d.id())).contains("training.run_created", "training.run_started", "training.run_succeeded");

        // The log streams from an offset: asking from the end returns nothing new.
        long next = http.get("/api/training-runs/" + run.path("id").asText() + "/log", ADMIN).json().path("next").asLong();
        JsonNode rest = http.get("/api/training-runs/" + run.path("id").asText() + "/log?from=" + next, ADMIN).json();
        assertThat(rest.path("text").asText()).isEmpty();
        assertThat(rest.path("complete").asBoolean()).isTrue();
        // Run numbers go on: the next one is nightly-2.
        assertThat(startRun(d.id()).path("name").asText()).isEqualTo("nightly-2");
    }

    @Test
    void failingHangingCancelledAndTimedOutJobsEndInTheRightStateWithTheirLogs() {
        var d = deploymentWithData(3);
        configure(d.id(), command("echo boom >&2; exit 3"));
        JsonNode failed = awaitRun(startRun(d.id()).path("id").asText(), finished());
        assertThat(failed.path("status").asText()).isEqualTo("FAILED");
        assertThat(failed.path("message").asText()).contains("3");
        assertThat(log(failed)).contains("boom").contains("exited with status 3");

        configure(d.id(), command("echo started; sleep 600"));
        String hanging = startRun(d.id()).path("id").asText();
        awaitRun(hanging, r -> r.path("status").asText().equals("RUNNING") && log(r).contains("started"));
        var conflict = http.post("/api/deployments/" + d.id() + "/training-runs", ADMIN, "{}");
        assertThat(conflict.status()).isEqualTo(409);
        assertThat(conflict.json().path("error").asText()).isEqualTo("run_in_flight");
        var cancelled = http.post("/api/training-runs/" + hanging + "/cancel", ADMIN, "");
        assertThat(cancelled.status()).as(cancelled.toString()).isEqualTo(200);
        assertThat(cancelled.json().path("status").asText()).isEqualTo("CANCELLED");
        assertThat(http.post("/api/training-runs/" + hanging + "/cancel", ADMIN, "").status()).isEqualTo(409);

        // The timeout counts from the start of the job, whose wrapper is a JVM of its own: on a busy machine it can take
        // several seconds before the command prints anything.
        configure(d.id(), command("echo waiting; sleep 600", "\"timeout\": \"15s\""));
        JsonNode timedOut = awaitRun(startRun(d.id()).path("id").asText(), finished());
        assertThat(timedOut.path("status").asText()).isEqualTo("FAILED");
        assertThat(timedOut.path("message").asText()).contains("timed out after PT15S");
        assertThat(log(timedOut)).contains("waiting");

        configure(d.id(), command("printf '%s' '{\"format\": \"torchscript\", \"task\": \"classification\", "
                + "\"labels\": [\"a\", \"b\", \"c\"], \"input\": {\"kind\": \"features\", \"size\": 4}, "
                + "\"output\": \"logits\"}' > \"$FLYWHEEL_OUTPUT_DIR/model.json\"; "
                + "head -c 2000 /dev/urandom > \"$FLYWHEEL_OUTPUT_DIR/model.pt\""));
        JsonNode broken = awaitRun(startRun(d.id()).path("id").asText(), finished());
        assertThat(broken.path("status").asText()).isEqualTo("FAILED");
        assertThat(broken.path("result_model_version_id").isNull()).isTrue();
        assertThat(log(broken)).contains("the server refused the model (400)");
        assertThat(eventTypes(d.id())).contains("training.run_failed", "training.run_cancelled");
    }

    @Test
    void aGpuTypeThatIsNotHereFailsTheRunUnlessCpuFallbackIsAllowed() {
        var d = deploymentWithData(3);
        configure(d.id(), command(COPY_TRAINER, "\"gpu_type\": \"A10G\""));
        JsonNode noGpu = awaitRun(startRun(d.id()).path("id").asText(), finished());
        assertThat(noGpu.path("status").asText()).isEqualTo("FAILED");
        assertThat(noGpu.path("message").asText()).contains("no A10G GPU on this host");

        configure(d.id(), command(COPY_TRAINER, "\"gpu_type\": \"A10G\", \"allow_cpu_fallback\": true"));
        JsonNode fallback = awaitRun(startRun(d.id()).path("id").asText(), finished());
        assertThat(fallback.path("status").asText()).as(fallback.toString()).isEqualTo("SUCCEEDED");
        assertThat(fallback.path("device").asText()).contains("cpu").contains("A10G");
        assertThat(fallback.path("gpu_type").asText()).isEqualTo("A10G");
    }

    @Test
    void theScheduleTriggerFiresOnItsCronWithItsEvidence() {
        var d = deploymentWithData(2);
        configure(d.id(), command("sleep 600", "\"triggers\": [{\"type\": \"schedule\", \"config\": "
                + "{\"cron\": \"* * * * * ?\", \"time_zone\": \"Europe/Berlin\"}}], \"active\": true"));
        JsonNode run = awaitRuns(d.id(), 1).get(0);
        assertThat(run.at("/trigger/type").asText()).isEqualTo("schedule");
        assertThat(run.at("/trigger/evidence/cron").asText()).isEqualTo("* * * * * ?");
        assertThat(http.get("/api/events?type=training.triggered&deployment_id=" + d.id(), ADMIN).json().path("items"))
                .isNotEmpty();
        http.put("/api/deployments/" + d.id() + "/continuous-training/active", ADMIN, "{\"active\": false}");
        http.post("/api/training-runs/" + run.path("id").asText() + "/cancel", ADMIN, "");
    }

    @Test
    void theDriftTriggerStaysSilentOnStationaryTrafficAndFiresAfterAShift() {
        var d = deploymentWithData(0);
        // The reference: training data from the original world.
        String dataset = http.post("/api/datasets", ADMIN, "{\"name\": \"ref-" + System.nanoTime() + "\"}").json()
                .path("id").asText();
        String reference = http.post("/api/datasets/" + dataset + "/versions", ADMIN, "{\"name\": \"train\"}").json()
                .path("id").asText();
        var world = new World(7, false);
        for (int i = 0; i < 300; i++) {
            var p = world.next();
            http.post("/api/dataset-versions/" + reference + "/items", ADMIN, p.payload().replace("}", ", \"label\": \""
                    + p.label() + "\"}"));
        }
        assertThat(http.put("/api/deployments/" + d.id() + "/reference", ADMIN, "{\"dataset_version_id\": \""
                + reference + "\"}").status()).isEqualTo(200);
        configure(d.id(), command("sleep 600", "\"triggers\": [{\"type\": \"drift\", \"config\": {\"window_size\": 200, "
                + "\"min_window\": 100, \"reference_size\": 300}}], \"cooldown\": \"0s\", \"active\": true"));

        var stationary = new World(8, false);
        for (int i = 0; i < 200; i++) {
            logPrediction(d.id(), stationary.next());
        }
        JsonNode state = awaitTriggerState(d.id(), s -> s.path("evidence").has("window_size")
                && s.path("evidence").path("window_size").asInt() >= 200);
        assertThat(state.path("fired").asBoolean()).as(state.toString()).isFalse();
        assertThat(http.get("/api/deployments/" + d.id() + "/training-runs", ADMIN).json().path("items")).isEmpty();

        var shifted = new World(9, true);
        for (int i = 0; i < 200; i++) {
            logPrediction(d.id(), shifted.next());
        }
        JsonNode run = awaitRuns(d.id(), 1).get(0);
        assertThat(run.at("/trigger/type").asText()).isEqualTo("drift");
        assertThat(run.at("/trigger/reason").asText()).contains("drift");
        assertThat(run.at("/trigger/evidence").toString()).contains("psi");
        http.put("/api/deployments/" + d.id() + "/continuous-training/active", ADMIN, "{\"active\": false}");
        http.post("/api/training-runs/" + run.path("id").asText() + "/cancel", ADMIN, "");
    }

    @Test
    void settingsAreCheckedAgainstEachExtensionsSchemaAndErrorsNameTheField() {
        var d = deploymentWithData(0);
        String path = "/api/deployments/" + d.id() + "/continuous-training";
        assertError(http.put(path, ADMIN, "{\"triggers\": [{\"type\": \"moon-phase\"}]}"), "triggers[0].type");
        assertError(http.put(path, ADMIN, "{\"trigger_threshold\": 0}"), "trigger_threshold");
        assertError(http.put(path, ADMIN, "{\"triggers\": [{\"type\": \"review-threshold\", \"config\": {\"threshold\": -5}}]}"),
                "triggers[0].config.threshold: must be at least 1");
        assertError(http.put(path, ADMIN, "{\"triggers\": [{\"type\": \"schedule\", \"config\": {\"cron\": \"0 0 3 ? * NOPE\"}}]}"),
                "triggers[0].config");
        assertError(http.put(path, ADMIN, "{\"triggers\": [{\"type\": \"drift\", \"config\": {\"window\": 5}}]}"),
                "triggers[0].config.window");
        assertError(http.put(path, ADMIN, "{\"provisioner\": \"mainframe\"}"), "provisioner");
        assertError(http.put(path, ADMIN, "{\"provisioner_config\": {\"max_concurrent_jobs\": 0}}"),
                "provisioner_config.max_concurrent_jobs");
        assertError(http.put(path, ADMIN, "{\"trainer\": {\"type\": \"command\"}}"), "trainer.command");
        assertError(http.put(path, ADMIN, "{\"trainer\": {\"type\": \"magic\"}}"), "trainer.type");
        assertError(http.put(path, ADMIN, "{\"cooldown\": \"soon\"}"), "cooldown");
        assertThat(http.get(path, ADMIN).status()).isEqualTo(404);
        assertThat(http.post("/api/deployments/" + d.id() + "/training-runs", ADMIN, "{}").json().path("error").asText())
                .isEqualTo("not_configured");

        String viewer = http.post("/api/tokens", ADMIN, "{\"name\": \"v\", \"role\": \"viewer\"}").json().path("secret")
                .asText();
        assertThat(http.put(path, viewer, "{\"trigger_threshold\": 10}").status()).isEqualTo(403);
        var ok = http.put(path, ADMIN, "{\"trigger_threshold\": 10, \"gpu_type\": \"A10G\"}");
        assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
        assertThat(ok.json().at("/triggers/0/type").asText()).isEqualTo("review-threshold");
        assertThat(ok.json().at("/triggers/0/config/threshold").asInt()).isEqualTo(10);
        assertThat(ok.json().path("experiment_name").asText()).isEqualTo("auto-retrain-v{n}");
        assertThat(ok.json().path("provisioner").asText()).isEqualTo("local");
        assertThat(ok.json().at("/provisioner_config/max_concurrent_jobs").asInt()).isEqualTo(1);
        assertThat(ok.json().path("active").asBoolean()).isFalse();
        assertThat(ok.json().path("cooldown").asText()).isEqualTo("PT10M");
        // A run token cannot reach anything but its own run's routes.
        assertThat(http.get("/api/training-runs/run_x/job", viewer).status()).isEqualTo(403);
    }

    @Test
    void theCooldownCountsFromTriggeredRunsNotFromRunsStartedByHand() {
        var d = deploymentWithData(3);
        String settings = "\"trigger_threshold\": 3, \"cooldown\": \"10m\"";
        configure(d.id(), command("exit 3", settings, "\"active\": false"));
        JsonNode manual = awaitRun(startRun(d.id()).path("id").asText(), finished());
        assertThat(manual.at("/trigger/type").asText()).isEqualTo("manual");

        // Three reviews after the run by hand: the threshold fires although that run began less than 10m ago.
        predictAndReview(d.id(), 3, 21);
        configure(d.id(), command("exit 3", settings, "\"active\": true"));
        List<JsonNode> runs = awaitRuns(d.id(), 2);
        assertThat(runs.get(0).at("/trigger/type").asText()).isEqualTo("review-threshold");
        awaitRun(runs.get(0).path("id").asText(), finished());

        // A triggered run does hold the next one back for the cooldown.
        predictAndReview(d.id(), 3, 22);
        sleep(3000);
        assertThat(http.get("/api/deployments/" + d.id() + "/training-runs", ADMIN).json().path("items")).hasSize(2);
    }

    // ---- helpers

    /** Predicts {@code n} inputs on the deployment and reviews each with its true label. */
    void predictAndReview(String deployment, int n, long seed) {
        var world = new World(seed, true);
        for (int i = 0; i < n; i++) {
            var p = world.next();
            var r = http.post("/api/deployments/" + deployment + "/predict", ADMIN, p.payload());
            String id = r.json().path("prediction_id").asText();
            String predicted = r.json().path("label").asText();
            var review = http.post("/api/predictions/" + id + "/review", ADMIN, predicted.equals(p.label())
                    ? "{\"action\": \"accept\"}" : "{\"action\": \"correct\", \"label\": \"" + p.label() + "\"}");
            assertThat(review.status()).as(review.toString()).isEqualTo(200);
        }
    }

    record Deployment(String id, String datasetVersionId) {}

    /** A deployment of the fixture model with a feedback loop feeding a dataset version of {@code items} items. */
    Deployment deploymentWithData(int items) {
        String d = Fixtures.deploy(http, ADMIN, "train-" + System.nanoTime(), versionId, null);
        String dataset = http.post("/api/datasets", ADMIN, "{\"name\": \"data-" + System.nanoTime() + "\"}").json()
                .path("id").asText();
        String version = http.post("/api/datasets/" + dataset + "/versions", ADMIN, "{\"name\": \"feedback\"}").json()
                .path("id").asText();
        http.post("/api/deployments/" + d + "/feedback-loop", ADMIN, "");
        http.post("/api/deployments/" + d + "/feedback-loop/dataset-versions", ADMIN, "{\"dataset_version_id\": \""
                + version + "\"}");
        http.put("/api/deployments/" + d + "/feedback-loop/active", ADMIN, "{\"active\": true}");
        var world = new World(items, true);
        for (int i = 0; i < items; i++) {
            var p = world.next();
            var r = http.post("/api/deployments/" + d + "/predict", ADMIN, p.payload());
            String id = r.json().path("prediction_id").asText();
            String predicted = r.json().path("label").asText();
            http.post("/api/predictions/" + id + "/review", ADMIN, predicted.equals(p.label())
                    ? "{\"action\": \"accept\"}" : "{\"action\": \"correct\", \"label\": \"" + p.label() + "\"}");
        }
        return new Deployment(d, version);
    }

    void configure(String deployment, String body) {
        var r = http.put("/api/deployments/" + deployment + "/continuous-training", ADMIN, body);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }

    static String command(String script, String... more) {
        return "{\"trainer\": {\"type\": \"command\", \"command\": [\"/bin/sh\", \"-c\", " + json(script) + "]}"
                + (more.length == 0 ? "" : ", " + String.join(", ", more)) + "}";
    }

    static String json(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    JsonNode startRun(String deployment) {
        var r = http.post("/api/deployments/" + deployment + "/training-runs", ADMIN, "{}");
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json();
    }

    JsonNode awaitRun(String runId, Predicate<JsonNode> done) {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(4));
        JsonNode run = null;
        while (Instant.now().isBefore(deadline)) {
            run = http.get("/api/training-runs/" + runId, ADMIN).json();
            if (done.test(run)) {
                return run;
            }
            sleep(200);
        }
        throw new AssertionError("run " + runId + " did not get there in time: " + run + "\nlog:\n" + log(run));
    }

    List<JsonNode> awaitRuns(String deployment, int count) {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        while (Instant.now().isBefore(deadline)) {
            JsonNode items = http.get("/api/deployments/" + deployment + "/training-runs", ADMIN).json().path("items");
            if (items.size() >= count) {
                var out = new ArrayList<JsonNode>();
                items.forEach(out::add);
                return out;
            }
            sleep(200);
        }
        throw new AssertionError("no " + count + " run(s) for " + deployment + "; events: "
                + http.get("/api/events?deployment_id=" + deployment, ADMIN).body());
    }

    JsonNode awaitTriggerState(String deployment, Predicate<JsonNode> match) {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        while (Instant.now().isBefore(deadline)) {
            JsonNode states = http.get("/api/deployments/" + deployment + "/continuous-training", ADMIN).json()
                    .path("trigger_states");
            for (JsonNode s : states) {
                if (match.test(s)) {
                    return s;
                }
            }
            sleep(200);
        }
        throw new AssertionError("no matching trigger state for " + deployment);
    }

    static Predicate<JsonNode> finished() {
        return r -> List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(r.path("status").asText());
    }

    String log(JsonNode run) {
        return run == null ? "" : http.get("/api/training-runs/" + run.path("id").asText() + "/log", ADMIN).json()
                .path("text").asText();
    }

    void logPrediction(String deployment, World.Point p) {
        var r = http.post("/api/deployments/" + deployment + "/predictions", ADMIN, "{\"input\": " + p.payload()
                + ", \"label\": \"" + p.label() + "\", \"confidence\": 0.9}");
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
    }

    List<String> eventTypes(String deployment) {
        return http.get("/api/events?limit=500&deployment_id=" + deployment, ADMIN).json().path("items")
                .findValuesAsText("type");
    }

    static void assertError(Http.Response r, String field) {
        assertThat(r.status()).as(r.toString()).isEqualTo(400);
        assertThat(r.json().path("message").asText()).as(r.toString()).contains(field);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
