package dev.flywheel.server.shadow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.promotion.Statistics;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.ShadowContract;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * Shadow deployment, the live comparison, continuous deployment with the real {@code paired} promoter, promotion and
 * rollback, through the HTTP API with the real DJL runtime and the committed fixture model, on H2 and PostgreSQL.
 *
 * <p>Two shadows are made from the fixture without training anything: the same model uploaded again (an "equal"
 * shadow: it always agrees with the primary), and the same model with its labels in another order (a "shifted"
 * shadow: it disagrees on every input, systematically). With the shifted shadow the test is the reviewer and decides
 * the ground truth: labelling most disagreements with the shadow's label makes the shadow the better model, with the
 * primary's label the worse one.
 */
public abstract class ShadowApiContract extends ShadowContract {

    @Test
    void theShadowRunsOnTheSameTrafficAndIsComparedWithoutChangingThePrimaryAnswers() {
        String d = Fixtures.deploy(http, ADMIN, "shadowed-" + System.nanoTime(), primary, null);
        String before = predict(d, 0).path("prediction_id").asText();

        var wrongLabels = http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + image + "\"}");
        assertThat(wrongLabels.status()).as(wrongLabels.toString()).isEqualTo(400);
        assertThat(wrongLabels.json().path("error").asText()).isEqualTo("labels_mismatch");
        assertThat(http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"mv_nope\"}").status())
                .isEqualTo(400);
        assertThat(http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + primary + "\"}")
                .status()).isEqualTo(400);
        assertThat(http.get("/api/deployments/" + d + "/comparison", ADMIN).status()).isEqualTo(409);

        var set = http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + shifted + "\"}");
        assertThat(set.status()).as(set.toString()).isEqualTo(200);
        assertThat(set.json().path("shadow_model_version_id").asText()).isEqualTo(shifted);
        assertThat(set.json().path("shadow_since").asText()).isNotBlank();

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            JsonNode r = predict(d, i);
            // The primary answers as always: its own version, its own label.
            assertThat(r.path("model_version_id").asText()).isEqualTo(primary);
            ids.add(r.path("prediction_id").asText());
        }
        List<JsonNode> rows = awaitShadows(ids);
        for (JsonNode p : rows) {
            JsonNode s = p.path("shadow");
            assertThat(s.path("model_version_id").asText()).isEqualTo(shifted);
            assertThat(s.path("label").asText()).isEqualTo(shiftedLabel(p.path("label").asText()));
            assertThat(s.path("confidence").asDouble()).isEqualTo(p.path("confidence").asDouble());
            assertThat(s.path("scores").size()).isEqualTo(3);
            assertThat(s.path("latency_ms").asDouble()).isPositive();
            assertThat(s.path("error").isNull()).isTrue();
        }

        // Every disagreement leads the review queue, after nothing (nothing is flagged).
        JsonNode queue = http.get("/api/deployments/" + d + "/review-queue?limit=20", ADMIN).json();
        assertThat(queue.path("items")).hasSize(20).allSatisfy(item ->
                assertThat(item.path("reasons").get(0).path("kind").asText()).isEqualTo("disagreement"));
        assertThat(queue.path("anomalies").asLong()).isGreaterThanOrEqualTo(20);

        // Reviews: 7 labelled as the shadow said, 3 as the primary said, 1 rejected.
        for (int i = 0; i < 11; i++) {
            JsonNode p = rows.get(i);
            String body = i < 7 ? "{\"action\":\"correct\",\"label\":\"" + p.path("shadow").path("label").asText() + "\"}"
                    : i < 10 ? "{\"action\":\"accept\"}" : "{\"action\":\"reject\"}";
            var r = http.post("/api/predictions/" + p.path("id").asText() + "/review", ADMIN, body);
            assertThat(r.status()).as(r.toString()).isEqualTo(200);
        }
        var comparison = http.get("/api/deployments/" + d + "/comparison?bucket=15m&buckets=4", ADMIN);
        assertThat(comparison.status()).as(comparison.toString()).isEqualTo(200);
        JsonNode c = comparison.json();
        assertThat(c.path("primary_model_version_id").asText()).isEqualTo(primary);
        assertThat(c.path("shadow_model_version_id").asText()).isEqualTo(shifted);
        assertThat(c.path("bucket").asText()).isEqualTo("PT15M");
        JsonNode o = c.path("overall");
        assertThat(o.path("requests").asLong()).isEqualTo(20);
        assertThat(o.path("compared").asLong()).isEqualTo(20);
        assertThat(o.path("agreements").asLong()).isZero();
        assertThat(o.path("agreement_rate").asDouble()).isZero();
        assertThat(o.path("errors").asLong()).isZero();
        assertThat(o.path("skips").asLong()).isZero();
        assertThat(o.path("paired_reviewed").asLong()).isEqualTo(10);
        assertThat(o.path("shadow_only_correct").asLong()).isEqualTo(7);
        assertThat(o.path("primary_only_correct").asLong()).isEqualTo(3);
        assertThat(o.path("both_correct").asLong()).isZero();
        assertThat(o.path("shadow_accuracy").path("value").asDouble()).isEqualTo(0.7);
        double[] wilson = Statistics.wilson(7, 10, Statistics.Z95);
        assertThat(o.path("shadow_accuracy").path("ci95_low").asDouble()).isEqualTo(wilson[0]);
        assertThat(o.path("shadow_accuracy").path("ci95_high").asDouble()).isEqualTo(wilson[1]);
        assertThat(o.path("primary_accuracy").path("value").asDouble()).isEqualTo(0.3);
        assertThat(o.path("mcnemar").path("b").asLong()).isEqualTo(3);
        assertThat(o.path("mcnemar").path("c").asLong()).isEqualTo(7);
        assertThat(o.path("mcnemar").path("p_value").asDouble()).isEqualTo(Statistics.mcNemarExactP(3, 7));
        assertThat(o.path("primary_latency_ms").path("p50").asDouble()).isPositive();
        assertThat(o.path("shadow_latency_ms").path("p95").asDouble()).isPositive();
        // Reading the comparison timed both models back to back on the stored inputs: the same network, so a ratio
        // near 1 however the machine is loaded.
        JsonNode probe = c.path("latency_probe");
        assertThat(probe.path("pairs").asInt()).isPositive();
        assertThat(probe.path("median_ratio").asDouble()).isBetween(0.5, 2.0);
        assertThat(c.path("notes").toString()).contains("Timed back to back on the same");
        // The shadow was set just now, so the buckets start at its bucket and the last one holds everything.
        JsonNode buckets = c.path("buckets");
        assertThat(buckets.size()).isBetween(1, 2);
        long inBuckets = StreamSupport.stream(buckets.spliterator(), false)
                .mapToLong(b -> b.path("stats").path("compared").asLong()).sum();
        assertThat(inBuckets).isEqualTo(20);

        // On demand: the shadow runs on a prediction made before it was set.
        var onDemand = http.post("/api/predictions/" + before + "/shadow", ADMIN, "");
        assertThat(onDemand.status()).as(onDemand.toString()).isEqualTo(200);
        assertThat(onDemand.json().path("shadow").path("status").asText()).isEqualTo("ok");
        assertThat(onDemand.json().path("shadow").path("label").asText())
                .isEqualTo(shiftedLabel(onDemand.json().path("label").asText()));
        assertThat(http.get("/api/predictions/" + before, ADMIN).json().path("shadow").path("model_version_id").asText())
                .isEqualTo(shifted);

        String metrics = http.get("/metrics", null).body();
        assertThat(metrics).containsPattern("flywheel_shadow_predictions_total\\{deployment=\"" + d
                + "\",outcome=\"disagree\"} 21\\.0");
        assertThat(metrics).contains("flywheel_shadow_latency_seconds_count{deployment=\"" + d + "\"} 21");

        // A newer shadow restarts the comparison; setting it again changes nothing.
        var replaced = http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + equal + "\"}");
        assertThat(replaced.status()).isEqualTo(200);
        assertThat(replaced.json().path("shadow_since").asText()).isNotEqualTo(set.json().path("shadow_since").asText());
        var again = http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + equal + "\"}");
        assertThat(again.json().path("shadow_since").asText()).isEqualTo(replaced.json().path("shadow_since").asText());
        assertThat(http.get("/api/deployments/" + d + "/comparison", ADMIN).json().path("overall").path("requests")
                .asLong()).isZero();
        assertThat(events("shadow.replaced", d)).hasSize(1);

        var removed = http.delete("/api/deployments/" + d + "/shadow", ADMIN);
        assertThat(removed.status()).isEqualTo(200);
        assertThat(removed.json().path("shadow_model_version_id").isNull()).isTrue();
        assertThat(http.post("/api/predictions/" + before + "/shadow", ADMIN, "").status()).isEqualTo(409);
        JsonNode unshadowed = predict(d, 3);
        assertThat(http.get("/api/predictions/" + unshadowed.path("prediction_id").asText(), ADMIN).json()
                .path("shadow").isNull()).isTrue();
        assertThat(events("shadow.removed", d)).hasSize(1);
    }

    @Test
    void continuousDeploymentSettingsAreValidatedAgainstThePromotersSchema() {
        String d = Fixtures.deploy(http, ADMIN, "cd-settings-" + System.nanoTime(), primary, null);
        String path = "/api/deployments/" + d + "/continuous-deployment";
        assertThat(http.get(path, ADMIN).status()).isEqualTo(404);

        var zero = http.put(path, ADMIN, "{\"min_samples\": 0}");
        assertThat(zero.status()).isEqualTo(400);
        assertThat(zero.json().path("message").asText()).contains("min_samples");
        assertThat(zero.json().path("details").path("fields").get(0).path("field").asText()).isEqualTo("min_samples");
        var mode = http.put(path, ADMIN, "{\"threshold_mode\": \"sideways\", \"bogus\": 1}");
        assertThat(mode.status()).isEqualTo(400);
        assertThat(mode.json().path("message").asText()).contains("threshold_mode").contains("bogus");
        assertThat(http.put(path, ADMIN, "{\"policy\": \"yolo\"}").json().path("message").asText()).contains("policy");
        assertThat(http.put(path, ADMIN, "{\"promoter\": \"nope\"}").json().path("message").asText())
                .contains("promoter").contains("paired");
        assertThat(http.put(path, ADMIN, "{\"evaluation_interval\": \"soon\"}").status()).isEqualTo(400);
        assertThat(http.put(path, ADMIN, "{\"active\": true}").status()).isEqualTo(400);

        var ok = http.put(path, ADMIN, "{\"promotion_threshold\": 0.05, \"min_samples\": 1000}");
        assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
        JsonNode cd = ok.json();
        assertThat(cd.path("policy").asText()).isEqualTo("shadow");
        assertThat(cd.path("promoter").asText()).isEqualTo("paired");
        assertThat(cd.path("active").asBoolean()).isFalse();
        assertThat(cd.path("evaluation_interval").asText()).isEqualTo("PT30S");
        assertThat(cd.path("settings").path("min_samples").asLong()).isEqualTo(1000);
        assertThat(cd.path("settings").path("significance").asDouble()).isEqualTo(0.05);
        assertThat(cd.path("settings").path("max_duration").asText()).isEqualTo("PT336H");

        var on = http.put(path + "/active", ADMIN, "{\"active\": true}");
        assertThat(on.status()).isEqualTo(200);
        assertThat(on.json().path("active").asBoolean()).isTrue();
        // Replacing the settings keeps it on.
        assertThat(http.put(path, ADMIN, "{\"policy\": \"manual\"}").json().path("active").asBoolean()).isTrue();
        assertThat(http.get(path, ADMIN).json().path("policy").asText()).isEqualTo("manual");
        assertThat(events("continuous_deployment.activated", d)).hasSize(1);
    }

    @Test
    void aBetterShadowIsPromotedByThePolicyOnceItHasMinSamplesPairedReviews() {
        String d = shadowedDeployment("better", shifted);
        List<JsonNode> rows = awaitShadows(predictions(d, 36));
        // 23 of the first 29 labelled as the shadow said: better, significantly, but not yet 30 samples.
        review(d, rows.subList(0, 29), 23);
        JsonNode waiting = awaitDecision(d, 29);
        assertThat(waiting.path("data").path("verdict").asText()).isEqualTo("KEEP_WAITING");
        assertThat(waiting.path("data").path("evidence").path("min_samples").asLong()).isEqualTo(30);
        assertThat(deployment(d).path("primary_model_version_id").asText()).isEqualTo(primary);

        review(d, rows.subList(29, 30), 1);
        JsonNode promoted = awaitDecision(d, 30);
        assertThat(promoted.path("data").path("verdict").asText()).as(promoted.path("message").asText())
                .isEqualTo("PROMOTE");
        JsonNode evidence = promoted.path("data").path("evidence");
        assertThat(evidence.path("n").asLong()).isEqualTo(30);
        assertThat(evidence.path("c_shadow_only_correct").asLong()).isEqualTo(24);
        assertThat(evidence.path("b_primary_only_correct").asLong()).isEqualTo(6);
        assertThat(evidence.path("p_value").asDouble()).isLessThan(0.05);
        assertThat(evidence.path("shadow_accuracy").asDouble()).isEqualTo(0.8);
        assertThat(promoted.path("data").path("comparison").path("p_value").asDouble())
                .isEqualTo(Statistics.mcNemarExactP(6, 24));
        await("the promotion", () -> deployment(d).path("primary_model_version_id").asText().equals(shifted));
        JsonNode after = deployment(d);
        assertThat(after.path("previous_primary_model_version_id").asText()).isEqualTo(primary);
        assertThat(after.path("shadow_model_version_id").isNull()).isTrue();
        JsonNode event = events("deployment.promoted", d).get(0);
        assertThat(event.path("actor").asText()).isEqualTo("promoter:paired");
        assertThat(event.path("data").path("trigger").asText()).isEqualTo("policy");
        assertThat(predict(d, 1).path("model_version_id").asText()).isEqualTo(shifted);
        assertThat(http.get("/metrics", null).body()).contains("flywheel_promotions_total{deployment=\"" + d
                + "\",trigger=\"policy\"} 1.0");
        // KEEP_WAITING was recorded once per change of the evidence, never twice for the same numbers.
        List<String> keys = new ArrayList<>();
        for (JsonNode e : events("promotion.decision", d)) {
            keys.add(e.path("data").path("verdict").asText() + "/" + e.path("data").path("comparison").path("n"));
        }
        assertThat(keys).doesNotHaveDuplicates();
    }

    @Test
    void aWorseShadowIsRejectedAndNeverPromoted() {
        String d = shadowedDeployment("worse", shifted);
        List<JsonNode> rows = awaitShadows(predictions(d, 30));
        // Only 6 of 30 labelled as the shadow said: the primary is the better model.
        review(d, rows, 6);
        JsonNode decision = awaitDecision(d, 30);
        assertThat(decision.path("data").path("verdict").asText()).isEqualTo("REJECT");
        assertThat(decision.path("data").path("evidence").path("b_primary_only_correct").asLong()).isEqualTo(24);
        await("the rejection", () -> deployment(d).path("shadow_model_version_id").isNull());
        assertThat(deployment(d).path("primary_model_version_id").asText()).isEqualTo(primary);
        assertThat(events("deployment.promoted", d)).isEmpty();
        assertThat(events("shadow.removed", d).get(0).path("data").path("reason").asText()).contains("rejected");
        // After the shadow is gone, the deployment still says why it was turned away.
        JsonNode rejection = http.get("/api/deployments/" + d + "/continuous-deployment", ADMIN).json()
                .path("last_rejection");
        assertThat(rejection.path("verdict").asText()).isEqualTo("REJECT");
        assertThat(rejection.path("model_version_id").asText()).isEqualTo(shifted);
        assertThat(rejection.path("reason").asText()).startsWith("The shadow is significantly worse");
        for (JsonNode e : events("promotion.decision", d)) {
            assertThat(e.path("data").path("verdict").asText()).isNotEqualTo("PROMOTE");
        }
    }

    @Test
    void anEqualShadowKeepsWaitingAndAnUnchangedDecisionIsNotRecordedAgain() {
        String d = shadowedDeployment("equal", equal);
        http.put("/api/deployments/" + d + "/continuous-deployment", ADMIN, settings("1s"));
        List<JsonNode> rows = awaitShadows(predictions(d, 40));
        for (JsonNode p : rows) {
            assertThat(p.path("shadow").path("label").asText()).isEqualTo(p.path("label").asText());
        }
        review(d, rows, 40);
        JsonNode decision = awaitDecision(d, 40);
        assertThat(decision.path("data").path("verdict").asText()).isEqualTo("KEEP_WAITING");
        assertThat(decision.path("data").path("evidence").path("p_value").asDouble()).isEqualTo(1.0);
        // The scheduled evaluation keeps asking every second with the same numbers: counted, not recorded again.
        await("three more evaluations", () -> decisionsCounted(d) >= events("promotion.decision", d).size() + 3);
        long at40 = events("promotion.decision", d).stream()
                .filter(e -> e.path("data").path("comparison").path("n").asLong() == 40).count();
        assertThat(at40).isEqualTo(1);
        JsonNode after = deployment(d);
        assertThat(after.path("primary_model_version_id").asText()).isEqualTo(primary);
        assertThat(after.path("shadow_model_version_id").asText()).isEqualTo(equal);
        assertThat(events("deployment.promoted", d)).isEmpty();
    }

    @Test
    void promoteAndRollbackUnderConcurrentTrafficFailNoRequest() throws Exception {
        String d = Fixtures.deploy(http, ADMIN, "swap-" + System.nanoTime(), primary, null);
        assertThat(http.post("/api/deployments/" + d + "/promote", ADMIN, "").status()).isEqualTo(409);
        assertThat(http.post("/api/deployments/" + d + "/rollback", ADMIN, "").status()).isEqualTo(409);
        assertThat(http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + equal + "\"}")
                .status()).isEqualTo(200);

        var answers = new ConcurrentLinkedQueue<String>();
        var failures = new ConcurrentLinkedQueue<String>();
        var done = new AtomicInteger();
        var stop = new AtomicBoolean();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        List<Future<?>> running = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            running.add(clients.submit(() -> {
                for (int i = seed; !stop.get(); i += 4) {
                    var r = http.post("/api/deployments/" + d + "/predict", ADMIN, body(i));
                    if (r.status() != 200) {
                        failures.add(r.toString());
                    } else {
                        answers.add(r.json().path("prediction_id").asText() + " "
                                + r.json().path("model_version_id").asText());
                    }
                    done.incrementAndGet();
                }
            }));
        }
        try {
            await("traffic", () -> done.get() >= 30);
            var promoted = http.post("/api/deployments/" + d + "/promote", ADMIN, "");
            assertThat(promoted.status()).as(promoted.toString()).isEqualTo(200);
            assertThat(promoted.json().path("primary_model_version_id").asText()).isEqualTo(equal);
            assertThat(promoted.json().path("previous_primary_model_version_id").asText()).isEqualTo(primary);
            assertThat(promoted.json().path("shadow_model_version_id").isNull()).isTrue();
            int afterPromote = done.get();
            await("traffic after the promotion", () -> done.get() >= afterPromote + 30);
            var rolledBack = http.post("/api/deployments/" + d + "/rollback", ADMIN, "");
            assertThat(rolledBack.status()).as(rolledBack.toString()).isEqualTo(200);
            assertThat(rolledBack.json().path("primary_model_version_id").asText()).isEqualTo(primary);
            assertThat(rolledBack.json().path("previous_primary_model_version_id").isNull()).isTrue();
            int afterRollback = done.get();
            await("traffic after the rollback", () -> done.get() >= afterRollback + 30);
        } finally {
            stop.set(true);
            for (Future<?> f : running) {
                f.get(60, TimeUnit.SECONDS);
            }
            clients.shutdown();
        }
        assertThat(failures).isEmpty();
        Set<String> served = new java.util.HashSet<>();
        for (String a : answers) {
            String[] parts = a.split(" ");
            assertThat(parts[1]).isIn(primary, equal);
            served.add(parts[1]);
        }
        // The promoted version answered while it was the primary; each logged row names the version that answered.
        assertThat(served).containsExactlyInAnyOrder(primary, equal);
        for (String a : answers.stream().limit(200).toList()) {
            String[] parts = a.split(" ");
            assertThat(http.get("/api/predictions/" + parts[0], ADMIN).json().path("model_version_id").asText())
                    .isEqualTo(parts[1]);
        }
        assertThat(predict(d, 0).path("model_version_id").asText()).isEqualTo(primary);
        var second = http.post("/api/deployments/" + d + "/rollback", ADMIN, "");
        assertThat(second.status()).isEqualTo(409);
        assertThat(second.json().path("error").asText()).isEqualTo("nothing_to_roll_back");
        assertThat(events("deployment.promoted", d)).hasSize(1);
        assertThat(events("deployment.rolled_back", d)).hasSize(1);
        String metrics = http.get("/metrics", null).body();
        assertThat(metrics).contains("flywheel_promotions_total{deployment=\"" + d + "\",trigger=\"manual\"} 1.0");
        assertThat(metrics).contains("flywheel_rollbacks_total{deployment=\"" + d + "\"} 1.0");
    }
}
