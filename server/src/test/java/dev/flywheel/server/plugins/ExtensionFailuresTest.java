package dev.flywheel.server.plugins;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestPluginJars;
import dev.flywheel.server.testing.TestServer;
import dev.flywheel.testplugins.BrokenExtensions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Extensions reached through their gateways, from a real plugin jar: a trigger and a promoter that throw on every call
 * are recorded once while they keep failing the same way (the calls are counted every time), a factory that cannot
 * say its type hides no other, and a factory's own rule across its settings is a 400 naming the field.
 */
class ExtensionFailuresTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;

    @TempDir
    Path dir;

    @Test
    void aPluginFailingTheSameWayOnEveryIntervalIsRecordedOnceAndCountedEveryTime() throws Exception {
        Path plugins = Files.createDirectories(dir.resolve("plugins"));
        TestPluginJars.build(plugins.resolve("broken-1.0.0.jar"), "broken", "1.0.0", ">=0.2.0", null,
                List.of(BrokenExtensions.class, BrokenExtensions.BrokenTriggerFactory.class,
                        BrokenExtensions.BrokenPromoterFactory.class, BrokenExtensions.NamelessTriggerFactory.class),
                List.of(BrokenExtensions.BrokenTriggerFactory.class, BrokenExtensions.BrokenPromoterFactory.class,
                        BrokenExtensions.NamelessTriggerFactory.class));
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir);
                var server = TestServer.start(db, dir, s -> s.withIntervals(Duration.ofSeconds(1),
                        Duration.ofSeconds(1)))) {
            Http http = server.http();
            JsonNode v1 = Fixtures.upload(http, ADMIN, "iris", Fixtures.FEATURES);
            String d = Fixtures.deploy(http, ADMIN, "broken-loop", v1.path("id").asText(), null);
            String training = "/api/deployments/" + d + "/continuous-training";

            var unknown = http.put(training, ADMIN, "{\"triggers\": [{\"type\": \"nope\"}]}");
            assertThat(unknown.status()).isEqualTo(400);
            assertThat(unknown.json().path("message").asText())
                    .isEqualTo("triggers[0].type: no trigger of type 'nope' is installed; installed: [broken, drift, "
                            + "review-threshold, schedule]");
            var crossField = http.put(training, ADMIN, "{\"triggers\": [{\"type\": \"broken\", \"config\": "
                    + "{\"low\": 5, \"high\": 1}}]}");
            assertThat(crossField.status()).as(crossField.toString()).isEqualTo(400);
            assertThat(crossField.json().path("details").path("fields").get(0).path("field").asText())
                    .isEqualTo("triggers[0].config.low");
            assertThat(crossField.json().path("message").asText()).contains("must not exceed high");
            var everyField = http.put(training, ADMIN, "{\"triggers\": [{\"type\": \"broken\", \"config\": "
                    + "{\"low\": \"x\", \"high\": \"y\"}}]}");
            assertThat(everyField.json().path("details").path("fields").size()).isEqualTo(2);

            var on = http.put(training, ADMIN, "{\"triggers\": [{\"type\": \"broken\"}], \"active\": true}");
            assertThat(on.status()).as(on.toString()).isEqualTo(200);
            await("five failed trigger evaluations", () -> calls(http, "retraining_trigger", "failed") >= 5);
            List<JsonNode> triggerFailures = events(http, "training.trigger_failed", d);
            assertThat(triggerFailures).hasSize(1);
            assertThat(triggerFailures.get(0).path("message").asText())
                    .contains("trigger 'broken' (plugin broken) failed when evaluating")
                    .contains("the broken trigger broke");

            String cd = "/api/deployments/" + d + "/continuous-deployment";
            String shadow = Fixtures.upload(http, ADMIN, "iris-again", Fixtures.FEATURES).path("id").asText();
            assertThat(http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + shadow
                    + "\"}").status()).isEqualTo(200);
            assertThat(http.put(cd, ADMIN, "{\"promoter\": \"broken\", \"evaluation_interval\": \"1s\"}").status())
                    .isEqualTo(200);
            assertThat(http.put(cd + "/active", ADMIN, "{\"active\": true}").status()).isEqualTo(200);
            await("five failed decisions", () -> calls(http, "promotion_policy", "failed") >= 5);
            List<JsonNode> promoterFailures = events(http, "promotion.failed", d);
            assertThat(promoterFailures).hasSize(1);
            assertThat(promoterFailures.get(0).path("message").asText()).contains("the broken promoter broke");
            JsonNode last = http.get(cd, ADMIN).json().path("last_decision");
            assertThat(last.path("verdict").asText()).isEqualTo("FAILED");
            assertThat(last.path("reason").asText()).contains("promoter 'broken' (plugin broken) failed when deciding");
            // The server kept serving throughout.
            assertThat(http.post("/api/deployments/" + d + "/predict", ADMIN, "{\"features\": [5.0, 3.4, 1.5, 0.2]}")
                    .status()).isEqualTo(200);
        }
    }

    private static double calls(Http http, String point, String outcome) {
        double total = 0;
        for (String line : http.get("/metrics", null).body().split("\n")) {
            if (line.startsWith("flywheel_extension_calls_total{") && line.contains("point=\"" + point + "\"")
                    && line.contains("outcome=\"" + outcome + "\"")) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return total;
    }

    private static List<JsonNode> events(Http http, String type, String deployment) {
        var out = new java.util.ArrayList<JsonNode>();
        http.get("/api/events?limit=500&type=" + type + "&deployment_id=" + deployment, ADMIN).json().path("items")
                .forEach(e -> {
                    if (e.path("type").asText().equals(type)) {
                        out.add(e);
                    }
                });
        return out;
    }

    private static void await(String what, Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("gave up waiting for " + what);
            }
            Thread.sleep(200);
        }
    }
}
