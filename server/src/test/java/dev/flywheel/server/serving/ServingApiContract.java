package dev.flywheel.server.serving;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.ServerContract;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Serving and capture through the real server and the real DJL runtime: the committed fixture classifiers, uploaded
 * under the contract, predict correctly through deployments (features, PNG, JPEG, base64), every good request leaves
 * exactly one prediction whose input comes back as sent, and bad requests get a 4xx and leave none. Written once
 * and run on H2 and on PostgreSQL.
 */
public abstract class ServingApiContract extends ServerContract {

    private String featuresVersion;
    private String imageVersion;

    @BeforeAll
    void setUp() throws IOException {
        featuresVersion = Fixtures.upload(http, ADMIN, "iris", Fixtures.FEATURES).path("id").asText();
        imageVersion = Fixtures.upload(http, ADMIN, "colours", Fixtures.IMAGE).path("id").asText();
    }

    @Test
    void aDeploymentShowsItsVersionsAndSettings() {
        String d = Fixtures.deploy(http, ADMIN, "shown", featuresVersion, null);
        JsonNode got = http.get("/api/deployments/" + d, ADMIN).json();
        assertThat(got.path("name").asText()).isEqualTo("shown");
        assertThat(got.path("primary_model_version_id").asText()).isEqualTo(featuresVersion);
        assertThat(got.has("shadow_model_version_id")).isTrue();
        assertThat(got.path("shadow_model_version_id").isNull()).isTrue();
        assertThat(got.at("/settings/capture_mode").asText()).isEqualTo("durable");
        assertThat(http.get("/api/deployments?limit=500", ADMIN).json().path("items").findValuesAsText("id")).contains(d);
        assertThat(http.get("/api/deployments/dep_nope", ADMIN).status()).isEqualTo(404);

        var events = http.get("/api/events?type=deployment.created&deployment_id=" + d, ADMIN).json().path("items");
        assertThat(events).hasSize(1);
        assertThat(events.get(0).path("actor").asText()).contains("admin");

        var duplicate = http.post("/api/deployments", ADMIN, "{\"name\":\"shown\",\"model_version_id\":\"" + featuresVersion + "\"}");
        assertThat(duplicate.status()).isEqualTo(409);
        var unknownVersion = http.post("/api/deployments", ADMIN, "{\"name\":\"x\",\"model_version_id\":\"mv_nope\"}");
        assertThat(unknownVersion.status()).isEqualTo(400);
        assertThat(unknownVersion.json().path("message").asText()).contains("mv_nope");
        var badSetting = http.post("/api/deployments", ADMIN, "{\"name\":\"y\",\"model_version_id\":\"" + featuresVersion
                + "\",\"settings\":{\"capture_mode\":\"sometimes\"}}");
        assertThat(badSetting.status()).isEqualTo(400);
        assertThat(badSetting.json().path("message").asText()).contains("capture_mode");
    }

    @Test
    void featurePredictionsAreCorrectAndEachIsLoggedWithItsExactInput() {
        String d = Fixtures.deploy(http, ADMIN, "iris-live", featuresVersion, null);
        JsonNode samples = Fixtures.featureSamples();
        List<String> ids = new ArrayList<>();
        for (JsonNode sample : samples) {
            String body = "{\"features\": " + sample.path("features") + "}";
            var r = http.post("/api/deployments/" + d + "/predict", ADMIN, body);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            JsonNode p = r.json();
            assertThat(p.path("label").asText()).as(body).isEqualTo(sample.path("label").asText());
            assertThat(p.path("model_version_id").asText()).isEqualTo(featuresVersion);
            assertThat(p.path("confidence").asDouble()).isBetween(0.0, 1.0)
                    .isEqualTo(p.path("scores").path(p.path("label").asText()).asDouble());
            assertThat(p.path("scores").size()).isEqualTo(3);
            double sum = 0;
            for (JsonNode s : p.path("scores")) {
                sum += s.asDouble();
            }
            assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
            assertThat(p.path("latency_ms").asDouble()).isPositive();
            ids.add(p.path("prediction_id").asText());

            var input = http.getBytes("/api/predictions/" + p.path("prediction_id").asText() + "/input", ADMIN);
            assertThat(input.status()).isEqualTo(200);
            assertThat(input.contentType()).startsWith("application/json");
            assertThat(new String(input.body(), StandardCharsets.UTF_8)).isEqualTo(body);
        }
        List<JsonNode> logged = all(d, "");
        assertThat(logged).hasSize(samples.size());
        assertThat(logged.stream().map(p -> p.path("id").asText()).toList()).containsExactlyInAnyOrderElementsOf(ids);
        JsonNode one = http.get("/api/predictions/" + ids.get(0), ADMIN).json();
        assertThat(one.path("status").asText()).isEqualTo("TO_REVIEW");
        assertThat(one.path("source").asText()).isEqualTo("served");
        assertThat(one.path("deployment_id").asText()).isEqualTo(d);
        assertThat(one.path("model_version_id").asText()).isEqualTo(featuresVersion);
        assertThat(one.path("label").asText()).isEqualTo(samples.get(0).path("label").asText());
        assertThat(one.path("input_content_type").asText()).isEqualTo("application/json");
        assertThat(one.path("created_at").asText()).isNotEmpty();
    }

    @Test
    void imagePredictionsAreCorrectForPngJpegAndBase64() {
        String d = Fixtures.deploy(http, ADMIN, "colours-live", imageVersion, null);
        record Case(String file, String contentType, String label) {}
        for (Case c : List.of(new Case("red.png", "image/png", "red"), new Case("blue.png", "image/png", "blue"),
                new Case("red.jpg", "image/jpeg", "red"))) {
            byte[] image = Fixtures.bytes(Fixtures.IMAGE, c.file());
            var r = http.postBytes("/api/deployments/" + d + "/predict", ADMIN, c.contentType(), image);
            assertThat(r.status()).as(c.file() + ": " + r).isEqualTo(200);
            assertThat(r.json().path("label").asText()).as(c.file()).isEqualTo(c.label());
            assertThat(r.json().path("confidence").asDouble()).as(c.file()).isGreaterThan(0.5);
            var input = http.getBytes("/api/predictions/" + r.json().path("prediction_id").asText() + "/input", ADMIN);
            assertThat(input.contentType()).isEqualTo(c.contentType());
            assertThat(input.body()).isEqualTo(image);
        }
        byte[] blue = Fixtures.bytes(Fixtures.IMAGE, "blue.png");
        var b64 = http.post("/api/deployments/" + d + "/predict", ADMIN,
                "{\"image_base64\": \"" + Base64.getEncoder().encodeToString(blue) + "\"}");
        assertThat(b64.status()).as(b64.toString()).isEqualTo(200);
        assertThat(b64.json().path("label").asText()).isEqualTo("blue");
        var stored = http.getBytes("/api/predictions/" + b64.json().path("prediction_id").asText() + "/input", ADMIN);
        assertThat(stored.contentType()).isEqualTo("image/png");
        assertThat(stored.body()).isEqualTo(blue);
        assertThat(all(d, "")).hasSize(4);
    }

    @Test
    void badRequestsGetA4xxAndLeaveNoPrediction() {
        String features = Fixtures.deploy(http, ADMIN, "iris-strict", featuresVersion, null);
        String images = Fixtures.deploy(http, ADMIN, "colours-strict", imageVersion, null);
        byte[] png = Fixtures.bytes(Fixtures.IMAGE, "red.png");
        byte[] corrupt = java.util.Arrays.copyOf(png, 64);

        expect(http.post(path(features), ADMIN, "{\"features\": [1.0, 2.0, 3.0]}"), 400, "invalid_input", "4");
        expect(http.post(path(features), ADMIN, "{\"features\": [1.0, \"x\", 3.0, 4.0]}"), 400, "invalid_input", "features[1]");
        expect(http.post(path(features), ADMIN, "{\"features\": [1, 2, 3, 4], \"extra\": 1}"), 400, "invalid_field", "extra");
        expect(http.post(path(features), ADMIN, "{\"features\": "), 400, "invalid_json", "JSON");
        expect(http.post(path(features), ADMIN, "{}"), 400, "invalid_input", "features");
        expect(http.postBytes(path(features), ADMIN, "image/png", png), 400, "invalid_input", "");
        expect(http.postBytes(path(images), ADMIN, "image/png", corrupt), 400, "invalid_input", "");
        expect(http.postBytes(path(images), ADMIN, "image/jpeg", png), 400, "invalid_input", "PNG");
        expect(http.postBytes(path(images), ADMIN, "image/png", "not an image".getBytes()), 400, "invalid_input", "PNG");
        expect(http.post(path(images), ADMIN, "{\"image_base64\": \"%%%\"}"), 400, "invalid_input", "base64");
        expect(http.post(path(images), ADMIN, "{\"features\": [1, 2, 3, 4]}"), 400, "invalid_input", "");
        expect(http.postBytes(path(images), ADMIN, "text/plain", "red".getBytes()), 415, "unsupported_media_type", "image/png");
        expect(http.postBytes(path(images), ADMIN, "image/gif", png), 415, "unsupported_media_type", "");
        expect(http.post(path("dep_nope"), ADMIN, "{\"features\": [1, 2, 3, 4]}"), 404, "not_found", "dep_nope");
        expect(http.postBytes(path(images), ADMIN, "image/png", new byte[200 * 1024]), 413, "payload_too_large", "");

        assertThat(all(features, "")).isEmpty();
        assertThat(all(images, "")).isEmpty();
        String metrics = http.get("/metrics", null).body();
        assertThat(metrics).containsPattern("flywheel_predictions_total\\{deployment=\"" + features
                + "\",outcome=\"invalid_input\"} [1-9]");
        assertThat(metrics).containsPattern("flywheel_predictions_total\\{deployment=\"unknown\",outcome=\"not_found\"} [1-9]");
    }

    @Test
    void predictTokensPredictOnTheirDeploymentOnly() {
        String mine = Fixtures.deploy(http, ADMIN, "iris-token", featuresVersion, null);
        String other = Fixtures.deploy(http, ADMIN, "iris-other", featuresVersion, null);
        String token = http.post("/api/tokens", ADMIN, "{\"name\":\"edge\",\"role\":\"predict\",\"deployment_id\":\""
                + mine + "\"}").json().path("secret").asText();
        String body = "{\"features\": [5.0, 3.4, 1.5, 0.2]}";
        assertThat(http.post(path(mine), token, body).status()).isEqualTo(200);
        assertThat(http.post(path(other), token, body).status()).isEqualTo(403);
        assertThat(http.get("/api/deployments/" + mine + "/predictions", token).status()).isEqualTo(403);
        assertThat(http.post("/api/deployments/" + mine + "/predictions", token, "{\"input\": " + body
                + ", \"label\": \"setosa-like\", \"confidence\": 0.9}").status()).isEqualTo(201);
        assertThat(all(mine, "")).hasSize(2);
        assertThat(all(other, "")).isEmpty();
    }

    @Test
    void predictionsMadeElsewhereAreLoggedWithTheirInput() {
        String d = Fixtures.deploy(http, ADMIN, "iris-elsewhere", featuresVersion, null);
        var r = http.post("/api/deployments/" + d + "/predictions", ADMIN, """
                {"input": {"features": [6.8, 3.1, 6.0, 2.4]}, "label": "virginica-like", "confidence": 0.8,
                 "scores": {"setosa-like": 0.05, "versicolor-like": 0.15, "virginica-like": 0.8},
                 "model_version_id": "%s", "latency_ms": 12.5}""".formatted(featuresVersion));
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        JsonNode p = http.get("/api/predictions/" + r.json().path("id").asText(), ADMIN).json();
        assertThat(p.path("source").asText()).isEqualTo("logged");
        assertThat(p.path("label").asText()).isEqualTo("virginica-like");
        assertThat(p.path("scores").path("versicolor-like").asDouble()).isEqualTo(0.15);
        assertThat(p.path("latency_ms").asDouble()).isEqualTo(12.5);
        var input = http.getBytes("/api/predictions/" + p.path("id").asText() + "/input", ADMIN);
        assertThat(http.post(path(d), ADMIN, new String(input.body(), StandardCharsets.UTF_8)).json().path("label")
                .asText()).as("the stored input is a predict payload").isEqualTo("virginica-like");

        byte[] red = Fixtures.bytes(Fixtures.IMAGE, "red.jpg");
        var image = http.post("/api/deployments/" + d + "/predictions", ADMIN, "{\"input\": {\"image_base64\": \""
                + Base64.getEncoder().encodeToString(red) + "\"}, \"label\": \"red\", \"confidence\": 0.7}");
        assertThat(image.status()).as(image.toString()).isEqualTo(201);
        var stored = http.getBytes("/api/predictions/" + image.json().path("id").asText() + "/input", ADMIN);
        assertThat(stored.contentType()).isEqualTo("image/jpeg");
        assertThat(stored.body()).isEqualTo(red);
        assertThat(image.json().path("model_version_id").isNull()).isTrue();

        expect(http.post("/api/deployments/" + d + "/predictions", ADMIN, "{\"input\": {\"features\": [1]}, "
                + "\"label\": \"nope\", \"confidence\": 0.5, \"model_version_id\": \"" + featuresVersion + "\"}"),
                400, "invalid_field", "nope");
        expect(http.post("/api/deployments/" + d + "/predictions", ADMIN, "{\"input\": {\"features\": [1]}, "
                + "\"label\": \"a\", \"confidence\": 1.5}"), 400, "invalid_field", "confidence");
        expect(http.post("/api/deployments/" + d + "/predictions", ADMIN, "{\"label\": \"a\", \"confidence\": 0.5}"),
                400, "invalid_field", "input");
        assertThat(all(d, "")).hasSize(3);
    }

    @Test
    void theLogIsFilteredAndPaged() {
        String d = Fixtures.deploy(http, ADMIN, "iris-filtered", featuresVersion, null);
        JsonNode samples = Fixtures.featureSamples();
        for (JsonNode sample : samples) {
            assertThat(http.post(path(d), ADMIN, "{\"features\": " + sample.path("features") + "}").status()).isEqualTo(200);
        }
        assertThat(all(d, "&status=TO_REVIEW")).hasSize(samples.size());
        assertThat(all(d, "&status=REVIEWED")).isEmpty();
        assertThat(all(d, "&label=setosa-like")).hasSize(2).allSatisfy(p ->
                assertThat(p.path("label").asText()).isEqualTo("setosa-like"));
        assertThat(all(d, "&model_version_id=" + featuresVersion)).hasSize(samples.size());
        assertThat(all(d, "&model_version_id=mv_other")).isEmpty();
        assertThat(all(d, "&since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z")).hasSize(samples.size());
        assertThat(all(d, "&until=2000-01-01T00:00:00Z")).isEmpty();
        List<JsonNode> every = all(d, "");
        double threshold = every.stream().mapToDouble(p -> p.path("confidence").asDouble()).sorted().skip(3).findFirst()
                .orElseThrow();
        List<JsonNode> low = all(d, "&confidence_below=" + threshold);
        assertThat(low).hasSize(3).allSatisfy(p -> assertThat(p.path("confidence").asDouble()).isLessThan(threshold));

        // Newest first, across pages of two, without repeats or gaps.
        List<String> paged = every.stream().map(p -> p.path("id").asText()).toList();
        assertThat(paged).isSortedAccordingTo(java.util.Comparator.reverseOrder());
        assertThat(http.get("/api/deployments/" + d + "/predictions?status=DONE", ADMIN).status()).isEqualTo(400);
        assertThat(http.get("/api/deployments/" + d + "/predictions?since=yesterday", ADMIN).status()).isEqualTo(400);
        assertThat(http.get("/api/deployments/dep_nope/predictions", ADMIN).status()).isEqualTo(404);
        assertThat(http.get("/api/predictions/prd_nope", ADMIN).status()).isEqualTo(404);
        assertThat(http.get("/api/predictions/prd_nope/input", ADMIN).status()).isEqualTo(404);
    }

    @Test
    void concurrentPredictionsLeaveExactlyOneRowEach() throws Exception {
        String d = Fixtures.deploy(http, ADMIN, "iris-concurrent", featuresVersion, null);
        int threads = 8;
        int perThread = 25;
        Set<String> ids = java.util.concurrent.ConcurrentHashMap.newKeySet();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            var futures = new ArrayList<java.util.concurrent.Future<?>>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        var r = http.post(path(d), ADMIN, "{\"features\": [5.9, 2.6, 4.2, 1.3]}");
                        assertThat(r.status()).as(r.toString()).isEqualTo(200);
                        ids.add(r.json().path("prediction_id").asText());
                    }
                    return null;
                }));
            }
            for (var f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertThat(ids).hasSize(threads * perThread);
        Set<String> logged = new HashSet<>(all(d, "").stream().map(p -> p.path("id").asText()).toList());
        assertThat(logged).isEqualTo(ids);
        String metrics = http.get("/metrics", null).body();
        assertThat(metrics).contains("flywheel_prediction_writer_batch_size_count", "flywheel_prediction_writer_queue",
                "flywheel_predict_latency_seconds_count");
        assertThat(metrics).containsPattern("flywheel_predictions_total\\{deployment=\"" + d + "\",outcome=\"ok\"} "
                + (threads * perThread) + "\\.0");
    }

    private static String path(String deployment) {
        return "/api/deployments/" + deployment + "/predict";
    }

    private static void expect(Http.Response r, int status, String code, String messagePart) {
        assertThat(r.status()).as(r.toString()).isEqualTo(status);
        assertThat(r.json().path("error").asText()).as(r.toString()).isEqualTo(code);
        assertThat(r.json().path("message").asText()).as(r.toString()).contains(messagePart);
    }

    /** Every prediction of a deployment, following the cursor through pages of two. */
    private List<JsonNode> all(String deployment, String filters) {
        var out = new ArrayList<JsonNode>();
        String cursor = null;
        do {
            var r = http.get("/api/deployments/" + deployment + "/predictions?limit=2" + filters
                    + (cursor == null ? "" : "&cursor=" + cursor), ADMIN);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
            r.json().path("items").forEach(out::add);
            cursor = r.json().path("next_cursor").isNull() ? null : r.json().path("next_cursor").asText();
        } while (cursor != null);
        return out;
    }
}
