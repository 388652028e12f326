package dev.flywheel.server.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.ServerContract;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * "Production data becomes training data": review, the review queue and the feedback loop through the HTTP API with
 * a real model, on H2 and PostgreSQL.
 */
public abstract class FeedbackApiContract extends ServerContract {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");

    private String versionId;
    private String reviewer;

    @BeforeAll
    void setUp() throws IOException {
        versionId = Fixtures.upload(http, ADMIN, "iris-like", Fixtures.FEATURES).path("id").asText();
        reviewer = http.post("/api/tokens", ADMIN, "{\"name\":\"rita\",\"role\":\"reviewer\"}").json().path("secret").asText();
    }

    @Test
    void reviewedPredictionsFlowIntoEveryAttachedDatasetVersionExactlyOnce() throws IOException {
        String d = Fixtures.deploy(http, ADMIN, "flow-" + System.nanoTime(), versionId, null);
        JsonNode samples = Fixtures.featureSamples();
        List<String> ids = new ArrayList<>();
        Map<String, byte[]> inputs = new HashMap<>();
        for (int i = 0; i < 120; i++) {
            JsonNode s = samples.get(i % samples.size());
            String body = "{\"features\": " + jitter(s.path("features"), i) + "}";
            var r = http.post("/api/deployments/" + d + "/predict", ADMIN, body);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            ids.add(r.json().path("prediction_id").asText());
            inputs.put(r.json().path("prediction_id").asText(), body.getBytes(StandardCharsets.UTF_8));
        }

        assertThat(http.post("/api/deployments/" + d + "/feedback-loop", ADMIN, "").status()).isEqualTo(201);
        assertThat(http.post("/api/deployments/" + d + "/feedback-loop", ADMIN, "").status()).isEqualTo(200);
        String strict = newVersion("[\"setosa-like\", \"versicolor-like\", \"virginica-like\"]");
        String open = newVersion(null);
        attach(d, strict);
        attach(d, open);

        // Reviews while the loop is off accumulate: 70 accepted, 30 corrected, 20 rejected.
        Map<String, String> truth = new LinkedHashMap<>();
        for (int i = 0; i < 120; i++) {
            String id = ids.get(i);
            String predicted = http.get("/api/predictions/" + id, ADMIN).json().path("label").asText();
            Http.Response r;
            if (i < 70) {
                r = http.post("/api/predictions/" + id + "/review", reviewer, "{\"action\":\"accept\"}");
                truth.put(id, predicted);
            } else if (i < 100) {
                String other = LABELS.get((LABELS.indexOf(predicted) + 1) % 3);
                r = http.post("/api/predictions/" + id + "/review", reviewer,
                        "{\"action\":\"correct\",\"label\":\"" + other + "\"}");
                truth.put(id, other);
            } else {
                r = http.post("/api/predictions/" + id + "/review", reviewer, "{\"action\":\"reject\"}");
            }
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            assertThat(r.json().path("status").asText()).isEqualTo("REVIEWED");
        }
        JsonNode loop = http.get("/api/deployments/" + d + "/feedback-loop", ADMIN).json();
        assertThat(loop.path("active").asBoolean()).isFalse();
        assertThat(loop.path("pending").asLong()).isEqualTo(100);
        assertThat(itemCount(strict)).isZero();

        var on = http.put("/api/deployments/" + d + "/feedback-loop/active", ADMIN, "{\"active\": true}");
        assertThat(on.status()).as(on.toString()).isEqualTo(200);
        assertThat(on.json().path("submitted").asLong()).isEqualTo(100);
        assertThat(on.json().path("pending").asLong()).isZero();
        // Turning it on again, and attaching an attached version again, add nothing.
        http.put("/api/deployments/" + d + "/feedback-loop/active", ADMIN, "{\"active\": true}");
        attach(d, strict);

        for (String version : List.of(strict, open)) {
            assertThat(itemCount(version)).isEqualTo(100);
            Map<String, byte[]> zip = unzip(http.getBytes("/api/dataset-versions/" + version + "/export", ADMIN).body());
            var seen = new HashMap<String, String>();
            for (String line : new String(zip.get("manifest.jsonl"), StandardCharsets.UTF_8).split("\n")) {
                JsonNode item = JSON.readTree(line);
                String prediction = item.path("prediction_id").asText();
                assertThat(seen.put(prediction, item.path("label").asText())).as("duplicate item").isNull();
                assertThat(item.path("content_type").asText()).isEqualTo("application/json");
                assertThat(item.path("split").asText()).isIn("train", "validation");
                assertThat(zip.get(item.path("asset").asText())).isEqualTo(inputs.get(prediction));
            }
            assertThat(seen).isEqualTo(truth);
        }
        for (int i = 0; i < 120; i++) {
            JsonNode p = http.get("/api/predictions/" + ids.get(i), ADMIN).json();
            assertThat(p.path("status").asText()).isEqualTo(i < 100 ? "SUBMITTED" : "REVIEWED");
            assertThat(p.at("/review/by").asText()).startsWith("rita");
            assertThat(p.at("/review/at").asText()).isNotEmpty();
        }
        JsonNode enriched = http.get("/api/events?type=feedback_loop.enriched&deployment_id=" + d, ADMIN).json();
        assertThat(enriched.at("/items/0/data/submitted").asLong()).isEqualTo(100);

        // With the loop on, a new review flows at once.
        var more = http.post("/api/deployments/" + d + "/predict", ADMIN, "{\"features\": [5.0, 3.4, 1.5, 0.2]}");
        String id = more.json().path("prediction_id").asText();
        http.post("/api/predictions/" + id + "/review", reviewer, "{\"action\":\"accept\"}");
        assertThat(http.get("/api/predictions/" + id, ADMIN).json().path("status").asText()).isEqualTo("SUBMITTED");
        assertThat(itemCount(strict)).isEqualTo(101);

        var stats = http.get("/api/deployments/" + d + "/review-stats?since=" + Instant.EPOCH, ADMIN).json();
        assertThat(stats.path("reviewed").asLong()).isEqualTo(101);
    }

    @Test
    void concurrentReviewsOfOnePredictionHaveOneWinner() throws Exception {
        String d = Fixtures.deploy(http, ADMIN, "race-" + System.nanoTime(), versionId, null);
        http.post("/api/deployments/" + d + "/feedback-loop", ADMIN, "");
        String version = newVersion(null);
        attach(d, version);
        http.put("/api/deployments/" + d + "/feedback-loop/active", ADMIN, "{\"active\": true}");
        String id = http.post("/api/deployments/" + d + "/predict", ADMIN, "{\"features\": [5.9, 2.6, 4.2, 1.3]}")
                .json().path("prediction_id").asText();

        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        var ready = new CountDownLatch(threads);
        var go = new CountDownLatch(1);
        var results = new ArrayList<Future<Integer>>();
        for (int t = 0; t < threads; t++) {
            String body = t % 2 == 0 ? "{\"action\":\"accept\"}" : "{\"action\":\"correct\",\"label\":\"setosa-like\"}";
            results.add(pool.submit(() -> {
                ready.countDown();
                go.await();
                return http.post("/api/predictions/" + id + "/review", reviewer, body).status();
            }));
        }
        ready.await();
        go.countDown();
        List<Integer> statuses = new ArrayList<>();
        for (Future<Integer> f : results) {
            statuses.add(f.get());
        }
        pool.shutdown();
        assertThat(statuses).containsOnly(200, 409);
        assertThat(statuses.stream().filter(s -> s == 200).count()).isEqualTo(1);
        assertThat(itemCount(version)).isEqualTo(1);

        var again = http.post("/api/predictions/" + id + "/review", reviewer, "{\"action\":\"reject\"}");
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().path("error").asText()).isEqualTo("already_reviewed");
        assertThat(again.json().path("message").asText()).contains("rita");
    }

    @Test
    void reviewsAreValidatedAndOnlyReviewersMayReview() {
        String d = Fixtures.deploy(http, ADMIN, "validate-" + System.nanoTime(), versionId, null);
        String id = http.post("/api/deployments/" + d + "/predict", ADMIN, "{\"features\": [6.8, 3.1, 6.0, 2.4]}")
                .json().path("prediction_id").asText();
        String path = "/api/predictions/" + id + "/review";

        var unknownLabel = http.post(path, reviewer, "{\"action\":\"correct\",\"label\":\"tulip\"}");
        assertThat(unknownLabel.status()).isEqualTo(400);
        assertThat(unknownLabel.json().path("message").asText()).contains("'tulip'").contains("setosa-like");
        assertThat(http.post(path, reviewer, "{\"action\":\"correct\"}").status()).isEqualTo(400);
        assertThat(http.post(path, reviewer, "{\"action\":\"accept\",\"label\":\"setosa-like\"}").status()).isEqualTo(400);
        assertThat(http.post(path, reviewer, "{\"action\":\"reject\",\"label\":\"setosa-like\"}").status()).isEqualTo(400);
        assertThat(http.post(path, reviewer, "{\"action\":\"approve\"}").status()).isEqualTo(400);
        assertThat(http.post("/api/predictions/prd_nope/review", reviewer, "{\"action\":\"accept\"}").status()).isEqualTo(404);
        String viewer = http.post("/api/tokens", ADMIN, "{\"name\":\"v\",\"role\":\"viewer\"}").json().path("secret").asText();
        assertThat(http.post(path, viewer, "{\"action\":\"accept\"}").status()).isEqualTo(403);
        assertThat(http.get("/api/predictions/" + id, ADMIN).json().path("status").asText()).isEqualTo("TO_REVIEW");

        var bulk = http.post("/api/deployments/" + d + "/reviews", reviewer, "{\"reviews\": ["
                + "{\"prediction_id\":\"" + id + "\",\"action\":\"accept\"},"
                + "{\"prediction_id\":\"" + id + "\",\"action\":\"reject\"},"
                + "{\"prediction_id\":\"prd_nope\",\"action\":\"accept\"}]}");
        assertThat(bulk.status()).as(bulk.toString()).isEqualTo(200);
        assertThat(bulk.json().path("reviewed").asInt()).isEqualTo(1);
        assertThat(bulk.json().at("/results/0/outcome").asText()).isEqualTo("reviewed");
        assertThat(bulk.json().at("/results/1/outcome").asText()).isEqualTo("already_reviewed");
        assertThat(bulk.json().at("/results/2/outcome").asText()).isEqualTo("not_found");
    }

    @Test
    void theQueuePutsAnomaliesFirstAndSaysWhy() {
        String d = Fixtures.deploy(http, ADMIN, "queue-" + System.nanoTime(), versionId, null);
        String confident = log(d, "setosa-like", 0.97);
        String unsure = log(d, "virginica-like", 0.41);
        String unsurer = log(d, "versicolor-like", 0.35);
        String flagged = log(d, "setosa-like", 0.99);
        String newest = log(d, "virginica-like", 0.9);

        var flag = http.post("/api/predictions/" + flagged + "/flag", reviewer, "{\"reason\": \"customer complaint\"}");
        assertThat(flag.status()).as(flag.toString()).isEqualTo(200);
        assertThat(flag.json().at("/flag/reason").asText()).isEqualTo("customer complaint");
        assertThat(http.post("/api/predictions/" + flagged + "/flag", reviewer, "{}").status()).isEqualTo(400);

        JsonNode queue = http.get("/api/deployments/" + d + "/review-queue", reviewer).json();
        assertThat(ids(queue)).containsExactly(flagged, unsurer, unsure, newest, confident);
        assertThat(queue.at("/items/0/reasons/0/kind").asText()).isEqualTo("flagged");
        assertThat(queue.at("/items/0/reasons/0/detail").asText()).isEqualTo("customer complaint");
        assertThat(queue.at("/items/1/reasons/0/kind").asText()).isEqualTo("low_confidence");
        assertThat(queue.at("/items/1/reasons/0/detail").asText()).isEqualTo("confidence 0.350 is below 0.600");
        assertThat(queue.at("/items/3/reasons/0/kind").asText()).isEqualTo("sampled");
        assertThat(queue.path("anomalies").asLong()).isEqualTo(3);
        assertThat(queue.path("to_review").asLong()).isEqualTo(5);

        // A stricter threshold makes more anomalies; reviewed predictions leave the queue.
        var changed = http.put("/api/deployments/" + d + "/settings", ADMIN,
                "{\"settings\": {\"review_confidence_threshold\": 0.95}}");
        assertThat(changed.status()).as(changed.toString()).isEqualTo(200);
        assertThat(changed.json().at("/settings/review_confidence_threshold").asDouble()).isEqualTo(0.95);
        http.post("/api/predictions/" + unsurer + "/review", reviewer, "{\"action\":\"accept\"}");
        queue = http.get("/api/deployments/" + d + "/review-queue?limit=3", reviewer).json();
        assertThat(ids(queue)).containsExactly(flagged, unsure, newest);
        assertThat(queue.path("anomalies").asLong()).isEqualTo(3);
        assertThat(http.get("/api/deployments/" + d + "/review-queue?limit=0", reviewer).status()).isEqualTo(400);
        assertThat(http.put("/api/deployments/" + d + "/settings", ADMIN,
                "{\"settings\": {\"review_sample_rate\": 0}}").status()).isEqualTo(400);
        assertThat(http.post("/api/predictions/" + unsurer + "/flag", reviewer, "{\"reason\": \"late\"}").status())
                .isEqualTo(409);
    }

    @Test
    void samplingKeepsADeterministicShareOfOrdinaryTrafficButEveryAnomaly() {
        String d = Fixtures.deploy(http, ADMIN, "sample-" + System.nanoTime(), versionId, null);
        http.put("/api/deployments/" + d + "/settings", ADMIN, "{\"settings\": {\"review_sample_rate\": 0.25}}");
        for (int i = 0; i < 200; i++) {
            log(d, "setosa-like", 0.9);
        }
        for (int i = 0; i < 5; i++) {
            log(d, "setosa-like", 0.2);
        }
        JsonNode first = http.get("/api/deployments/" + d + "/review-queue?limit=200", reviewer).json();
        JsonNode second = http.get("/api/deployments/" + d + "/review-queue?limit=200", reviewer).json();
        assertThat(ids(first)).isEqualTo(ids(second));
        assertThat(first.path("anomalies").asLong()).isEqualTo(5);
        long sampled = first.path("to_review").asLong() - 5;
        // 200 draws at 0.25: mean 50, sd about 6.1.
        assertThat(sampled).isBetween(28L, 72L);
        assertThat(first.path("items")).hasSize((int) (sampled + 5));
    }

    @Test
    void inputsFarFromTheReferenceDataAreDriftOutliersInTheQueue() {
        String d = Fixtures.deploy(http, ADMIN, "outliers-" + System.nanoTime(), versionId, null);
        String reference = newVersion(null);
        var random = new java.util.Random(3);
        for (int i = 0; i < 100; i++) {
            http.post("/api/dataset-versions/" + reference + "/items", ADMIN, "{\"features\": [" + (1 + random.nextGaussian() * 0.1)
                    + ", " + (2 + random.nextGaussian() * 0.1) + ", 3, " + (4 + random.nextGaussian() * 0.1)
                    + "], \"label\": \"setosa-like\"}");
        }
        http.put("/api/deployments/" + d + "/reference", ADMIN, "{\"dataset_version_id\": \"" + reference + "\"}");
        String outlier = logFeatures(d, "[1.0, 2.0, 3.0, 9.0]");
        String ordinary = logFeatures(d, "[1.02, 1.97, 3.0, 4.05]");

        JsonNode queue = http.get("/api/deployments/" + d + "/review-queue", reviewer).json();
        assertThat(ids(queue)).containsExactly(outlier, ordinary);
        assertThat(queue.at("/items/0/reasons/0/kind").asText()).isEqualTo("drift_outlier");
        assertThat(queue.at("/items/0/reasons/0/detail").asText()).startsWith("feature 3 is ")
                .contains("sd from the reference mean (reference: 100 items)");
        assertThat(queue.at("/items/1/reasons/0/kind").asText()).isEqualTo("sampled");
        assertThat(queue.path("anomalies").asLong()).isEqualTo(1);
        assertThat(queue.path("to_review").asLong()).isEqualTo(2);
    }

    private String logFeatures(String deployment, String features) {
        var r = http.post("/api/deployments/" + deployment + "/predictions", ADMIN, "{\"input\": {\"features\": " + features
                + "}, \"label\": \"setosa-like\", \"confidence\": 0.9, \"model_version_id\": \"" + versionId + "\"}");
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().path("id").asText();
    }

    @Test
    void referenceDataAndLoopSetUpAreValidated() {
        String d = Fixtures.deploy(http, ADMIN, "reference-" + System.nanoTime(), versionId, null);
        String version = newVersion(null);
        var set = http.put("/api/deployments/" + d + "/reference", ADMIN, "{\"dataset_version_id\": \"" + version + "\"}");
        assertThat(set.status()).as(set.toString()).isEqualTo(200);
        assertThat(http.get("/api/deployments/" + d, ADMIN).json().path("reference_dataset_version_id").asText())
                .isEqualTo(version);
        assertThat(http.put("/api/deployments/" + d + "/reference", ADMIN, "{\"dataset_version_id\": \"dsv_nope\"}")
                .status()).isEqualTo(400);

        var noLoop = http.post("/api/deployments/" + d + "/feedback-loop/dataset-versions", ADMIN,
                "{\"dataset_version_id\": \"" + version + "\"}");
        assertThat(noLoop.status()).isEqualTo(404);
        assertThat(noLoop.json().path("message").asText()).contains("POST /api/deployments/" + d + "/feedback-loop");
        http.post("/api/deployments/" + d + "/feedback-loop", ADMIN, "");
        String narrow = newVersion("[\"setosa-like\"]");
        var wrongLabels = http.post("/api/deployments/" + d + "/feedback-loop/dataset-versions", ADMIN,
                "{\"dataset_version_id\": \"" + narrow + "\"}");
        assertThat(wrongLabels.status()).isEqualTo(400);
        assertThat(wrongLabels.json().path("message").asText()).contains("versicolor-like");
        attach(d, version);
        assertThat(http.delete("/api/deployments/" + d + "/feedback-loop/dataset-versions/" + version, ADMIN).status())
                .isEqualTo(204);
        assertThat(http.delete("/api/deployments/" + d + "/feedback-loop/dataset-versions/" + version, ADMIN).status())
                .isEqualTo(404);
        assertThat(http.put("/api/deployments/" + d + "/feedback-loop/active", ADMIN, "{}").status()).isEqualTo(400);
    }

    private String log(String deployment, String label, double confidence) {
        var r = http.post("/api/deployments/" + deployment + "/predictions", ADMIN, "{\"input\": {\"features\": [1, 2, 3, 4]},"
                + " \"label\": \"" + label + "\", \"confidence\": " + confidence + ", \"model_version_id\": \""
                + versionId + "\"}");
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().path("id").asText();
    }

    private static List<String> ids(JsonNode queue) {
        var out = new ArrayList<String>();
        queue.path("items").forEach(i -> out.add(i.at("/prediction/id").asText()));
        return out;
    }

    private String newVersion(String labelsJson) {
        String dataset = http.post("/api/datasets", ADMIN, "{\"name\": \"fb-" + System.nanoTime() + "\"}").json()
                .path("id").asText();
        var v = http.post("/api/datasets/" + dataset + "/versions", ADMIN, "{\"name\": \"v1\""
                + (labelsJson == null ? "" : ", \"labels\": " + labelsJson) + "}");
        assertThat(v.status()).as(v.toString()).isEqualTo(201);
        return v.json().path("id").asText();
    }

    private void attach(String deployment, String version) {
        var r = http.post("/api/deployments/" + deployment + "/feedback-loop/dataset-versions", ADMIN,
                "{\"dataset_version_id\": \"" + version + "\"}");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }

    private long itemCount(String version) {
        return http.get("/api/dataset-versions/" + version, ADMIN).json().path("item_count").asLong();
    }

    private static String jitter(JsonNode features, int i) {
        var out = new ArrayList<String>();
        for (int k = 0; k < features.size(); k++) {
            out.add(Double.toString(features.get(k).asDouble() + ((i * 7 + k) % 5) * 0.01));
        }
        return "[" + String.join(", ", out) + "]";
    }

    private static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        var files = new LinkedHashMap<String, byte[]>();
        try (var in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                files.put(e.getName(), in.readAllBytes());
            }
        }
        return files;
    }
}
