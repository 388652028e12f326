package dev.flywheel.server.promotion;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flywheel.server.testing.CpuHogs;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.ShadowContract;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Promotion that holds up on a busy machine, and automatic rollback after a bad promotion, through the real server with
 * the real DJL runtime, the real {@code paired} promoter and real models, on H2 and PostgreSQL.
 *
 * <p>"Busy" means what it does on a shared build box: two other processes spin at normal priority ({@link CpuHogs})
 * while the test sends traffic, so the shadow, which runs at the lowest CPU priority, is starved: it skips most inputs,
 * and whatever it does run takes far longer in wall-clock time than the primary's answers. The tests show that this
 * neither rejects a shadow for latency the contention caused nor keeps the evidence from reaching {@code min_samples},
 * while a shadow whose forward pass really is much slower is still rejected.
 */
public abstract class PromotionGuardrailsContract extends ShadowContract {

    /** An untrained MLP with the fixture's inputs and labels and three 2048-wide hidden layers: the same answers' shape, many times the work. */
    private String slow;

    @BeforeAll
    void uploadSlowShadow() throws IOException {
        String model = Fixtures.createdId(http.post("/api/models", ADMIN, "{\"name\":\"slow-" + System.nanoTime()
                + "\"}"));
        String architecture = "{\"type\": \"mlp\", \"input_size\": 4, \"hidden\": [2048, 2048, 2048], \"classes\": 3, "
                + "\"activation\": \"relu\", \"initialize\": {\"seed\": 5}}";
        var zip = new ByteArrayOutputStream();
        try (var out = new ZipOutputStream(zip)) {
            out.putNextEntry(new ZipEntry("architecture.json"));
            out.write(architecture.getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        String metadata = "{\"format\": \"djl\", \"task\": \"classification\", \"labels\": " + JSON.writeValueAsString(LABELS)
                + ", \"input\": {\"kind\": \"features\", \"size\": 4}, \"output\": \"logits\"}";
        var r = http.multipart().file("file", "model.zip", "application/zip", zip.toByteArray()).field("metadata", metadata)
                .post("/api/models/" + model + "/versions", ADMIN);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        slow = r.json().path("id").asText();
    }

    @Test
    void onABusyMachineABetterShadowIsPromotedAndNeverRejectedForTheLatencyTheContentionCaused() throws Exception {
        String d = deployWithShadow("busy-better", shifted, "{\"policy\": \"shadow\", \"promoter\": \"paired\", "
                + "\"promotion_threshold\": 0.05, \"min_samples\": 60, \"evaluation_interval\": \"2s\", "
                + "\"rollback\": {\"bake_period\": \"4s\"}}");
        try (CpuHogs hogs = CpuHogs.start(2, 300)) {
            // Traffic until the starved shadow has skipped enough inputs: its queue fills at a pace that depends on
            // the machine, so the test sends batches until it has.
            List<JsonNode> answers = new ArrayList<>();
            JsonNode comparison;
            do {
                answers.addAll(concurrentPredictions(d, 200, 8));
                comparison = http.get("/api/deployments/" + d + "/comparison", ADMIN).json();
            } while (comparison.path("overall").path("skips").asLong() < 80 && answers.size() < 4000);
            assertThat(comparison.path("overall").path("skips").asLong()).as(comparison.toString())
                    .isGreaterThanOrEqualTo(80);
            assertThat(comparison.path("notes").toString()).contains("skipped");

            // Only skipped inputs are reviewed: whatever evidence the promoter gets, the backfill made from their
            // stored payloads. The reviewer says the shadow is right on 80% of them.
            List<JsonNode> skipped = new ArrayList<>();
            for (int i = answers.size() - 1; i >= 0 && skipped.size() < 80; i--) {
                JsonNode row = http.get("/api/predictions/" + answers.get(i).path("prediction_id").asText(), ADMIN)
                        .json();
                if (row.path("shadow").path("status").asText().equals("skipped")) {
                    skipped.add(answers.get(i));
                }
            }
            assertThat(skipped).hasSize(80);
            reviewAgainstPrimary(d, skipped, 0.8);
            await("the promotion", () -> deployment(d).path("primary_model_version_id").asText().equals(shifted));
            assertThat(hogs.running()).as("the CPU hogs spun throughout").isEqualTo(2);
            JsonNode row = http.get("/api/predictions/" + skipped.get(0).path("prediction_id").asText(), ADMIN).json();
            assertThat(row.path("shadow").path("status").asText()).isEqualTo("ok");
            assertThat(row.path("shadow").path("backfilled").asBoolean()).isTrue();
            assertThat(row.path("shadow").path("label").asText()).isEqualTo(shiftedLabel(row.path("label").asText()));
        }
        for (JsonNode e : events("promotion.decision", d)) {
            assertThat(e.path("data").path("verdict").asText()).as(e.path("message").asText()).isNotEqualTo("REJECT");
        }
        JsonNode promote = events("promotion.decision", d).stream()
                .filter(e -> e.path("data").path("verdict").asText().equals("PROMOTE")).findFirst().orElseThrow();
        JsonNode evidence = promote.path("data").path("evidence");
        assertThat(evidence.path("latency_judged").asBoolean()).isTrue();
        assertThat(evidence.path("latency_probe_pairs").asInt()).isGreaterThanOrEqualTo(20);
        // The same network: timed back to back its passes take about as long as the primary's.
        assertThat(evidence.path("latency_ratio").asDouble()).isLessThan(2.0);
        assertThat(evidence.path("shadow_skips").asLong()).isPositive();
        assertThat(evidence.path("n").asLong()).isGreaterThanOrEqualTo(60);
        String metrics = http.get("/metrics", null).body();
        assertThat(metrics).containsPattern("flywheel_shadow_backfilled_total\\{deployment=\"" + d
                + "\",status=\"ok\"} ([6-9]\\d|\\d{3,})\\.0");

        // Promoted by the policy, it is watched for its bake period; with no breach the bake passes.
        JsonNode started = awaitEvent("deployment.bake_started", d);
        assertThat(started.path("data").path("previous_model_version_id").asText()).isEqualTo(primary);
        JsonNode passed = awaitEvent("deployment.bake_passed", d);
        assertThat(passed.path("message").asText()).contains("accuracy not judged");
        JsonNode bake = continuousDeployment(d).path("bake");
        assertThat(bake.path("status").asText()).isEqualTo("passed");
        assertThat(bake.path("checks").path("requests").asLong()).isZero();
        assertThat(deployment(d).path("primary_model_version_id").asText()).isEqualTo(shifted);
    }

    @Test
    void onABusyMachineAShadowWhoseForwardPassIsMuchSlowerIsStillRejected() throws Exception {
        String d = deployWithShadow("busy-slow", slow, "{\"policy\": \"shadow\", \"promoter\": \"paired\", "
                + "\"min_samples\": 1000, \"evaluation_interval\": \"2s\"}");
        try (CpuHogs hogs = CpuHogs.start(2, 300)) {
            concurrentPredictions(d, 40, 2);
            await("the rejection", () -> deployment(d).path("shadow_model_version_id").isNull());
        }
        JsonNode reject = events("promotion.decision", d).stream()
                .filter(e -> e.path("data").path("verdict").asText().equals("REJECT")).findFirst().orElseThrow();
        JsonNode evidence = reject.path("data").path("evidence");
        assertThat(reject.path("data").path("reason").asText()).startsWith("The shadow's forward pass takes");
        assertThat(evidence.path("latency_ratio_ci95").get(0).asDouble()).isGreaterThan(2.0);
        assertThat(evidence.path("latency_probe_pairs").asInt()).isGreaterThanOrEqualTo(20);
        // The deployment shows why the candidate went, after it is gone.
        JsonNode rejection = continuousDeployment(d).path("last_rejection");
        assertThat(rejection.path("model_version_id").asText()).isEqualTo(slow);
        assertThat(rejection.path("verdict").asText()).isEqualTo("REJECT");
        assertThat(rejection.path("reason").asText()).isEqualTo(reject.path("data").path("reason").asText());
        assertThat(deployment(d).path("primary_model_version_id").asText()).isEqualTo(primary);
    }

    @Test
    void aBadAutomaticPromotionIsRolledBackByItselfWithinItsBakePeriod() {
        String d = deployWithShadow("bad-promotion", shifted, "{\"policy\": \"shadow\", \"promoter\": \"paired\", "
                + "\"min_samples\": 30, \"evaluation_interval\": \"2s\", \"rollback\": {\"bake_period\": \"10m\", "
                + "\"min_samples\": 30, \"max_accuracy_drop\": 0.05}}");
        List<JsonNode> before = awaitShadows(predictions(d, 100));
        // The first reviews favour the shadow (24 of 30): the promoter promotes it.
        review(d, before.subList(0, 30), 24);
        await("the promotion", () -> deployment(d).path("primary_model_version_id").asText().equals(shifted));
        JsonNode baking = continuousDeployment(d).path("bake");
        assertThat(baking.path("status").asText()).isEqualTo("baking");
        assertThat(baking.path("model_version_id").asText()).isEqualTo(shifted);
        assertThat(baking.path("previous_model_version_id").asText()).isEqualTo(primary);

        // Later reviews tell another story: the old primary was right on the rest of its inputs, and the new primary
        // is wrong on its own.
        review(d, before.subList(30, 100), 0);
        var served = new ArrayList<JsonNode>();
        for (int i = 0; i < 40; i++) {
            JsonNode answer = predict(d, i);
            assertThat(answer.path("model_version_id").asText()).isEqualTo(shifted);
            served.add(answer);
        }
        ArrayNode reviews = JSON.createArrayNode();
        for (JsonNode a : served) {
            reviews.addObject().put("prediction_id", a.path("prediction_id").asText()).put("action", "correct")
                    .put("label", unshiftedLabel(a.path("label").asText()));
        }
        var r = http.post("/api/deployments/" + d + "/reviews", ADMIN, "{\"reviews\": " + reviews + "}");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);

        await("the automatic rollback", () -> deployment(d).path("primary_model_version_id").asText().equals(primary));
        JsonNode rolledBack = awaitEvent("deployment.rolled_back", d);
        assertThat(rolledBack.path("actor").asText()).isEqualTo("bake-watch");
        JsonNode data = rolledBack.path("data");
        assertThat(data.path("trigger").asText()).isEqualTo("bake");
        assertThat(data.path("rolled_back_model_version_id").asText()).isEqualTo(shifted);
        assertThat(data.path("checks").path("accuracy").asDouble()).isZero();
        assertThat(data.path("checks").path("reviewed").asLong()).isEqualTo(40);
        // The old primary's record: its 100 reviewed predictions, 6 + 70 of them right.
        assertThat(data.path("checks").path("previous_reviewed").asLong()).isEqualTo(100);
        assertThat(data.path("checks").path("previous_accuracy").asDouble()).isEqualTo(0.76);
        assertThat(data.path("reason").asText()).startsWith("Breach during the bake: accuracy 0.000 on 40 reviewed");
        JsonNode cd = continuousDeployment(d);
        assertThat(cd.path("bake").path("status").asText()).isEqualTo("rolled_back");
        assertThat(cd.path("last_rejection").path("verdict").asText()).isEqualTo("ROLLED_BACK");
        assertThat(cd.path("last_rejection").path("model_version_id").asText()).isEqualTo(shifted);
        assertThat(predict(d, 1).path("model_version_id").asText()).isEqualTo(primary);
        assertThat(http.get("/metrics", null).body()).contains("flywheel_rollbacks_total{deployment=\"" + d
                + "\"} 1.0");
    }

    @Test
    void aPromotedPrimaryWhoseForwardPassIsMuchSlowerIsRolledBackByItself() {
        // A lax promoter lets the slow shadow through on accuracy; the bake watch's latency rule catches it.
        String d = deployWithShadow("slow-promotion", slow, "{\"policy\": \"shadow\", \"promoter\": \"paired\", "
                + "\"min_samples\": 30, \"max_latency_ratio\": 1000, \"evaluation_interval\": \"2s\", "
                + "\"rollback\": {\"bake_period\": \"10m\", \"max_latency_ratio\": 2}}");
        List<JsonNode> rows = awaitShadows(predictions(d, 40));
        // Wherever the two disagree, the reviewer sides with the shadow.
        review(d, rows, rows.size());
        await("the promotion", () -> events("deployment.promoted", d).size() == 1);
        await("the automatic rollback", () -> deployment(d).path("primary_model_version_id").asText().equals(primary));
        JsonNode rolledBack = awaitEvent("deployment.rolled_back", d);
        assertThat(rolledBack.path("actor").asText()).isEqualTo("bake-watch");
        assertThat(rolledBack.path("data").path("reason").asText()).startsWith("Breach during the bake: forward pass");
        assertThat(rolledBack.path("data").path("checks").path("latency_ratio_ci95").get(0).asDouble())
                .isGreaterThan(2.0);
        assertThat(continuousDeployment(d).path("last_rejection").path("verdict").asText()).isEqualTo("ROLLED_BACK");
    }

    @Test
    void rollbackSettingsAreValidatedAndShown() {
        String d = Fixtures.deploy(http, ADMIN, "rollback-settings-" + System.nanoTime(), primary, null);
        String path = "/api/deployments/" + d + "/continuous-deployment";
        var bad = http.put(path, ADMIN, "{\"rollback\": {\"bake_period\": \"soon\", \"max_accuracy_drop\": 2, "
                + "\"bogus\": 1}}");
        assertThat(bad.status()).as(bad.toString()).isEqualTo(400);
        List<String> fields = new ArrayList<>();
        bad.json().path("details").path("fields").forEach(f -> fields.add(f.path("field").asText()));
        assertThat(fields).contains("rollback.bake_period", "rollback.max_accuracy_drop", "rollback.bogus");
        assertThat(http.put(path, ADMIN, "{\"rollback\": 5}").status()).isEqualTo(400);
        assertThat(http.get(path, ADMIN).status()).isEqualTo(404);

        JsonNode defaults = http.put(path, ADMIN, "{}").json();
        assertThat(defaults.path("rollback").path("bake_period").asText()).isEqualTo("PT1H");
        assertThat(defaults.path("rollback").path("max_accuracy_drop").asDouble()).isEqualTo(0.05);
        assertThat(defaults.path("rollback").path("max_latency_ratio").asDouble()).isEqualTo(2.0);
        assertThat(defaults.path("bake").isNull()).isTrue();
        assertThat(defaults.path("last_rejection").isNull()).isTrue();
        JsonNode off = http.put(path, ADMIN, "{\"rollback\": {\"bake_period\": \"0s\"}}").json();
        assertThat(off.path("rollback").path("bake_period").asText()).isEqualTo("PT0S");
        assertThat(off.path("rollback").path("min_samples").asLong()).isEqualTo(50);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private String deployWithShadow(String name, String shadow, String settings) {
        String d = Fixtures.deploy(http, ADMIN, name + "-" + System.nanoTime(), primary, null);
        assertThat(http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + shadow + "\"}")
                .status()).isEqualTo(200);
        var cd = http.put("/api/deployments/" + d + "/continuous-deployment", ADMIN, settings);
        assertThat(cd.status()).as(cd.toString()).isEqualTo(200);
        assertThat(http.put("/api/deployments/" + d + "/continuous-deployment/active", ADMIN, "{\"active\": true}")
                .status()).isEqualTo(200);
        return d;
    }

    /** {@code n} predictions from {@code threads} clients at once; every answer, once every row is written. */
    private List<JsonNode> concurrentPredictions(String d, int n, int threads) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(threads);
        try {
            List<Future<JsonNode>> sent = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                sent.add(clients.submit(() -> predict(d, k)));
            }
            List<JsonNode> answers = Collections.synchronizedList(new ArrayList<>());
            for (Future<JsonNode> f : sent) {
                answers.add(f.get());
            }
            return answers;
        } finally {
            clients.shutdownNow();
        }
    }

    /**
     * Reviews predict answers without looking at the shadow's results (most were skipped): the first {@code share}
     * of them get the shifted shadow's label as the truth, the rest are accepted.
     */
    private void reviewAgainstPrimary(String d, List<JsonNode> answers, double share) {
        ArrayNode reviews = JSON.createArrayNode();
        for (int i = 0; i < answers.size(); i++) {
            JsonNode a = answers.get(i);
            ObjectNode r = reviews.addObject().put("prediction_id", a.path("prediction_id").asText());
            if (i < share * answers.size()) {
                r.put("action", "correct").put("label", shiftedLabel(a.path("label").asText()));
            } else {
                r.put("action", "accept");
            }
        }
        var r = http.post("/api/deployments/" + d + "/reviews", ADMIN, "{\"reviews\": " + reviews + "}");
        assertThat(r.status()).as(r.toString()).isEqualTo(200);
    }

    private JsonNode continuousDeployment(String d) {
        return http.get("/api/deployments/" + d + "/continuous-deployment", ADMIN).json();
    }

    private JsonNode awaitEvent(String type, String d) {
        JsonNode[] found = new JsonNode[1];
        await("a " + type + " event", () -> {
            List<JsonNode> e = events(type, d);
            found[0] = e.isEmpty() ? null : e.get(0);
            return found[0] != null;
        });
        return found[0];
    }
}
