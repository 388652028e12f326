package dev.flywheel.server.training;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training half of the loop end to end: reviews reach the threshold, exactly one run starts, the built-in
 * trainer learns the shifted world through the local provisioner, and the new version is registered with lineage.
 */
class TrainingLoopTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;

    @TempDir
    Path dir;

    @Test
    void theThreeHundredthReviewStartsOneRunThatLearnsTheShiftedWorld() throws Exception {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir);
                var server = TestServer.start(db, dir, s -> s.withIntervals(Duration.ofSeconds(1), Duration.ofMillis(500)))) {
            Http http = server.http();
            String base = Fixtures.upload(http, ADMIN, "iris-like", Fixtures.FEATURES).path("id").asText();
            String d = Fixtures.deploy(http, ADMIN, "shifting", base, null);
            String dataset = http.post("/api/datasets", ADMIN, "{\"name\": \"production\"}").json().path("id").asText();
            String version = http.post("/api/datasets/" + dataset + "/versions", ADMIN,
                    "{\"name\": \"feedback\", \"labels\": [\"setosa-like\", \"versicolor-like\", \"virginica-like\"]}")
                    .json().path("id").asText();
            http.post("/api/deployments/" + d + "/feedback-loop", ADMIN, "");
            http.post("/api/deployments/" + d + "/feedback-loop/dataset-versions", ADMIN,
                    "{\"dataset_version_id\": \"" + version + "\"}");
            http.put("/api/deployments/" + d + "/feedback-loop/active", ADMIN, "{\"active\": true}");
            var configured = http.put("/api/deployments/" + d + "/continuous-training", ADMIN, "{\"trigger_threshold\": 300, "
                    + "\"experiment_name\": \"auto-retrain-v{n}\", \"trainer\": {\"type\": \"builtin\", \"params\": "
                    + "{\"epochs\": 30}}, \"active\": true}");
            assertThat(configured.status()).as(configured.toString()).isEqualTo(200);

            // 300 predictions on the shifted world, reviewed with the truth.
            var world = new World(42, true);
            List<String> reviews = new ArrayList<>();
            int wrong = 0;
            for (int i = 0; i < 300; i++) {
                var p = world.next();
                JsonNode r = http.post("/api/deployments/" + d + "/predict", ADMIN, p.payload()).json();
                boolean right = r.path("label").asText().equals(p.label());
                wrong += right ? 0 : 1;
                reviews.add("{\"prediction_id\": \"" + r.path("prediction_id").asText() + "\", "
                        + (right ? "\"action\": \"accept\"}" : "\"action\": \"correct\", \"label\": \"" + p.label() + "\"}"));
            }
            assertThat(wrong).as("the base model is wrong on the shifted world").isGreaterThan(60);
            var bulk = http.post("/api/deployments/" + d + "/reviews", ADMIN,
                    "{\"reviews\": [" + String.join(", ", reviews.subList(0, 299)) + "]}");
            assertThat(bulk.json().path("reviewed").asInt()).isEqualTo(299);
            awaitTrigger(http, d, "299 of 300");
            assertThat(http.get("/api/deployments/" + d + "/training-runs", ADMIN).json().path("items")).isEmpty();
            assertThat(http.get("/api/deployments/" + d + "/continuous-training", ADMIN).json()
                    .path("reviewed_since_last_run").asInt()).isEqualTo(299);

            http.post("/api/deployments/" + d + "/reviews", ADMIN, "{\"reviews\": [" + reviews.get(299) + "]}");
            JsonNode run = awaitRuns(http, d);
            assertThat(run.path("name").asText()).isEqualTo("auto-retrain-v1");
            assertThat(run.at("/trigger/type").asText()).isEqualTo("review-threshold");
            assertThat(run.at("/trigger/evidence/reviewed_since_last_run").asInt()).isEqualTo(300);
            assertThat(run.at("/trigger/evidence/threshold").asInt()).isEqualTo(300);
            assertThat(run.at("/dataset_versions/0/high_water_mark").asLong()).isPositive();
            assertThat(run.path("base_model_version_id").asText()).isEqualTo(base);

            JsonNode done = await(http, run.path("id").asText(), Duration.ofMinutes(5));
            String log = http.get("/api/training-runs/" + run.path("id").asText() + "/log", ADMIN).json().path("text").asText();
            assertThat(done.path("status").asText()).as(log).isEqualTo("SUCCEEDED");
            double before = done.at("/metrics/base_val_accuracy").asDouble();
            double after = done.at("/metrics/val_accuracy").asDouble();
            assertThat(after).as("validation accuracy %s -> %s", before, after).isGreaterThan(before + 0.1)
                    .isGreaterThanOrEqualTo(0.85);
            assertThat(log).contains("built-in trainer of model runtime djl").contains("epoch");
            assertThat(done.path("device").asText()).startsWith("cpu");

            String newVersion = done.path("result_model_version_id").asText();
            JsonNode lineage = http.get("/api/model-versions/" + newVersion + "/lineage", ADMIN).json();
            assertThat(lineage.path("parent_version_id").asText()).isEqualTo(base);
            assertThat(lineage.path("training_run_id").asText()).isEqualTo(run.path("id").asText());
            assertThat(lineage.path("dataset_version_ids").get(0).asText()).isEqualTo(version);
            assertThat(lineage.path("version").asInt()).isEqualTo(2);

            // The new version really is better on the shifted world: serve it and count.
            String candidate = Fixtures.deploy(http, ADMIN, "candidate", newVersion, null);
            var fresh = new World(4242, true);
            int baseRight = 0;
            int newRight = 0;
            for (int i = 0; i < 150; i++) {
                var p = fresh.next();
                baseRight += http.post("/api/deployments/" + d + "/predict", ADMIN, p.payload()).json().path("label")
                        .asText().equals(p.label()) ? 1 : 0;
                newRight += http.post("/api/deployments/" + candidate + "/predict", ADMIN, p.payload()).json()
                        .path("label").asText().equals(p.label()) ? 1 : 0;
            }
            assertThat(newRight).as("new %d vs base %d of 150", newRight, baseRight).isGreaterThan(baseRight + 20);
            // Still exactly one run.
            assertThat(http.get("/api/deployments/" + d + "/training-runs", ADMIN).json().path("items")).hasSize(1);
            assertThat(http.get("/api/events?type=training.triggered&deployment_id=" + d, ADMIN).json().path("items"))
                    .hasSize(1);
        }
    }

    private static void awaitTrigger(Http http, String d, String reason) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
        while (Instant.now().isBefore(deadline)) {
            JsonNode states = http.get("/api/deployments/" + d + "/continuous-training", ADMIN).json().path("trigger_states");
            if (states.size() > 0 && states.get(0).path("reason").asText().contains(reason)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the trigger never said '" + reason + "'");
    }

    private static JsonNode awaitRuns(Http http, String d) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
        while (Instant.now().isBefore(deadline)) {
            JsonNode items = http.get("/api/deployments/" + d + "/training-runs", ADMIN).json().path("items");
            if (items.size() > 0) {
                return items.get(0);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no run started");
    }

    private static JsonNode await(Http http, String runId, Duration timeout) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        JsonNode run = null;
        while (Instant.now().isBefore(deadline)) {
            run = http.get("/api/training-runs/" + runId, ADMIN).json();
            if (List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(run.path("status").asText())) {
                return run;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("run " + runId + " did not end: " + run);
    }
}
