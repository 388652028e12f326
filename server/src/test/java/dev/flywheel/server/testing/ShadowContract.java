package dev.flywheel.server.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;

/**
 * The base of the contracts about a primary and its shadow (run on H2 and PostgreSQL): the fixture versions every one
 * of them uses, made without training anything, and the requests and waits they share.
 *
 * <p>The "shifted" shadow is the fixture model with its labels in another order, so it disagrees with the primary on
 * every input, systematically; the test is the reviewer and decides the ground truth: labelling disagreements with
 * the shadow's label makes the shadow the better model, with the primary's label the worse one.
 */
public abstract class ShadowContract extends ServerContract {

    protected static final ObjectMapper JSON = new ObjectMapper();
    protected static final List<String> LABELS = List.of("setosa-like", "versicolor-like", "virginica-like");

    /** The fixture model: the primary of every deployment here. */
    protected String primary;
    /** The same network with its labels rotated: it disagrees with the primary on every input. */
    protected String shifted;
    /** The same model uploaded again: it always agrees with the primary. */
    protected String equal;
    /** An image model, with other labels. */
    protected String image;

    @BeforeAll
    void uploadVersions() throws IOException {
        JsonNode v1 = Fixtures.upload(http, ADMIN, "iris-like", Fixtures.FEATURES);
        primary = v1.path("id").asText();
        String model = v1.path("model_id").asText();
        ObjectNode meta = (ObjectNode) JSON.readTree(Fixtures.text(Fixtures.FEATURES, "model.json"));
        equal = upload(model, meta.toString());
        ArrayNode labels = meta.putArray("labels");
        // Output i is read as label i: shifting the names makes every answer another label than the primary's.
        labels.add(LABELS.get(1)).add(LABELS.get(2)).add(LABELS.get(0));
        shifted = upload(model, meta.toString());
        image = Fixtures.upload(http, ADMIN, "colours", Fixtures.IMAGE).path("id").asText();
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    protected String upload(String model, String metadata) {
        var r = http.multipart()
                .file("file", "model.pt", "application/octet-stream", Fixtures.bytes(Fixtures.FEATURES, "model.pt"))
                .field("metadata", metadata).post("/api/models/" + model + "/versions", ADMIN);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().path("id").asText();
    }

    /** A deployment of the primary with that shadow and continuous deployment on, deciding at 30 samples. */
    protected String shadowedDeployment(String name, String shadow) {
        String d = Fixtures.deploy(http, ADMIN, name + "-" + System.nanoTime(), primary, null);
        assertThat(http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + shadow + "\"}")
                .status()).isEqualTo(200);
        var cd = http.put("/api/deployments/" + d + "/continuous-deployment", ADMIN, settings("30s"));
        assertThat(cd.status()).as(cd.toString()).isEqualTo(200);
        assertThat(http.put("/api/deployments/" + d + "/continuous-deployment/active", ADMIN, "{\"active\": true}")
                .status()).isEqualTo(200);
        return d;
    }

    /**
     * Continuous deployment deciding at 30 paired samples, with the promoter's default guardrails: its latency
     * guardrail compares forward passes timed back to back, so a shadow of the same network passes it even though
     * both share two CPUs.
     */
    protected static String settings(String interval) {
        return "{\"policy\": \"shadow\", \"promoter\": \"paired\", \"promotion_threshold\": 0.05, \"min_samples\": 30, "
                + "\"significance\": 0.05, \"evaluation_interval\": \"" + interval + "\"}";
    }

    /** What the shifted shadow answers where the primary answers {@code primaryLabel}. */
    protected static String shiftedLabel(String primaryLabel) {
        return LABELS.get((LABELS.indexOf(primaryLabel) + 1) % 3);
    }

    /** What the primary answers where the shifted shadow answers {@code shiftedLabel}. */
    protected static String unshiftedLabel(String shiftedLabel) {
        return LABELS.get((LABELS.indexOf(shiftedLabel) + 2) % 3);
    }

    protected static String body(int i) {
        JsonNode s = Fixtures.featureSamples().get(i % 6);
        var sb = new StringBuilder("{\"features\": [");
        for (int k = 0; k < s.path("features").size(); k++) {
            double v = s.path("features").get(k).asDouble() + ((i * 7 + k * 3) % 11 - 5) * 0.01;
            sb.append(k == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", v));
        }
        return sb.append("]}").toString();
    }

    protected JsonNode predict(String d, int i) {
        var r = http.post("/api/deployments/" + d + "/predict", ADMIN, body(i));
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        return r.json();
    }

    protected List<String> predictions(String d, int n) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(predict(d, i).path("prediction_id").asText());
        }
        return ids;
    }

    /** The predictions, once each has its shadow result stored. */
    protected List<JsonNode> awaitShadows(List<String> ids) {
        List<JsonNode> rows = new ArrayList<>();
        for (String id : ids) {
            JsonNode[] row = new JsonNode[1];
            await("the shadow result of " + id, () -> {
                row[0] = http.get("/api/predictions/" + id, ADMIN).json();
                return "ok".equals(row[0].path("shadow").path("status").asText());
            });
            rows.add(row[0]);
        }
        return rows;
    }

    /** Reviews the predictions: the first {@code shadowRight} with the shadow's label, the rest with the primary's. */
    protected void review(String d, List<JsonNode> rows, int shadowRight) {
        ArrayNode reviews = JSON.createArrayNode();
        for (int i = 0; i < rows.size(); i++) {
            JsonNode p = rows.get(i);
            String shadowLabel = p.path("shadow").path("label").asText();
            ObjectNode r = reviews.addObject().put("prediction_id", p.path("id").asText());
            if (i < shadowRight && !shadowLabel.equals(p.path("label").asText())) {
                r.put("action", "correct").put("label", shadowLabel);
            } else {
                r.put("action", "accept");
            }
        }
        var r = http.post("/api/deployments/" + d + "/reviews", ADMIN, "{\"reviews\": " + reviews + "}");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        assertThat(r.json().path("reviewed").asInt()).isEqualTo(rows.size());
    }

    /** The recorded decision made on exactly n paired reviewed samples, once there is one. */
    protected JsonNode awaitDecision(String d, long n) {
        JsonNode[] found = new JsonNode[1];
        await("a decision on " + n + " paired reviewed samples", () -> {
            for (JsonNode e : events("promotion.decision", d)) {
                if (e.path("data").path("comparison").path("n").asLong() == n) {
                    found[0] = e;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    protected long decisionsCounted(String d) {
        double total = 0;
        for (String line : http.get("/metrics", null).body().split("\n")) {
            if (line.startsWith("flywheel_promotion_decisions_total{deployment=\"" + d + "\"")) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return (long) total;
    }

    protected JsonNode deployment(String d) {
        return http.get("/api/deployments/" + d, ADMIN).json();
    }

    protected List<JsonNode> events(String type, String d) {
        var r = http.get("/api/events?limit=500&type=" + type + "&deployment_id=" + d, ADMIN);
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        r.json().path("items").forEach(e -> {
            if (e.path("type").asText().equals(type)) {
                out.add(e);
            }
        });
        return out;
    }

    protected static void await(String what, Supplier<Boolean> condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("gave up waiting for " + what);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what);
            }
        }
    }
}
