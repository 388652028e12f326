package dev.flywheel.server.shadow;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestPluginJars;
import dev.flywheel.server.testing.TestServer;
import dev.flywheel.testplugins.FaultyModelRuntimeFactory;
import dev.flywheel.testplugins.SlowModelRuntimeFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shadow that fails on every input, and one so slow that its queue overflows, never fail, delay or change the
 * primary's answers: the failures are recorded on the rows and counted, the overflow is skipped and counted.
 */
class ShadowFaultsTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;
    private static final String IRIS_LABELS = "[\"setosa-like\", \"versicolor-like\", \"virginica-like\"]";

    @TempDir
    Path dir;

    @Test
    void aFailingShadowAndAnOverflowingShadowLeaveThePrimaryUntouched() throws Exception {
        Path plugins = Files.createDirectories(dir.resolve("plugins"));
        TestPluginJars.build(plugins.resolve("test-runtimes-1.0.0.jar"), "test-runtimes", "1.0.0", ">=0.1.0", null,
                List.of(FaultyModelRuntimeFactory.class, FaultyModelRuntimeFactory.FaultyRuntime.class,
                        FaultyModelRuntimeFactory.FaultyModel.class, SlowModelRuntimeFactory.class,
                        SlowModelRuntimeFactory.SlowRuntime.class, SlowModelRuntimeFactory.SlowModel.class),
                List.of(FaultyModelRuntimeFactory.class, SlowModelRuntimeFactory.class));
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir)) {
            Http http = server.http();
            JsonNode iris = Fixtures.upload(http, ADMIN, "iris", Fixtures.FEATURES);
            String primary = iris.path("id").asText();
            String model = iris.path("model_id").asText();
            String faulty = upload(http, model, "faulty", "fine");
            String slow = upload(http, model, "slow", "2000");

            String d = Fixtures.deploy(http, ADMIN, "faulty-shadow", primary, null);
            assertThat(http.put("/api/deployments/" + d + "/shadow", ADMIN, "{\"model_version_id\":\"" + faulty + "\"}")
                    .status()).isEqualTo(200);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                var r = http.post("/api/deployments/" + d + "/predict", ADMIN, "{\"features\": [5.0, 3.4, 1.5, 0.2]}");
                assertThat(r.status()).as(r.toString()).isEqualTo(200);
                assertThat(r.json().path("label").asText()).isEqualTo("setosa-like");
                assertThat(r.json().path("model_version_id").asText()).isEqualTo(primary);
                ids.add(r.json().path("prediction_id").asText());
            }
            for (String id : ids) {
                JsonNode shadow = await(http, id, "error");
                assertThat(shadow.path("error").asText()).contains("the faulty model crashed while predicting");
                assertThat(shadow.path("label").isNull()).isTrue();
            }
            JsonNode overall = http.get("/api/deployments/" + d + "/comparison", ADMIN).json().path("overall");
            assertThat(overall.path("errors").asLong()).isEqualTo(10);
            assertThat(overall.path("error_rate").asDouble()).isEqualTo(1.0);
            assertThat(overall.path("compared").asLong()).isZero();
            assertThat(http.get("/metrics", null).body())
                    .contains("flywheel_shadow_errors_total{deployment=\"" + d + "\"} 10.0");

            // A shadow taking 2 s per input: its queue (128) overflows, and the overflow is skipped.
            String s = Fixtures.deploy(http, ADMIN, "slow-shadow", primary, null);
            assertThat(http.put("/api/deployments/" + s + "/shadow", ADMIN, "{\"model_version_id\":\"" + slow + "\"}")
                    .status()).isEqualTo(200);
            List<String> slowIds = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                var r = http.post("/api/deployments/" + s + "/predict", ADMIN, "{\"features\": [6.8, 3.1, 6.0, 2.4]}");
                assertThat(r.status()).as(r.toString()).isEqualTo(200);
                assertThat(r.json().path("label").asText()).isEqualTo("virginica-like");
                slowIds.add(r.json().path("prediction_id").asText());
            }
            long skipped = 0;
            for (String id : slowIds) {
                JsonNode shadow = http.get("/api/predictions/" + id, ADMIN).json().path("shadow");
                assertThat(shadow.path("status").asText()).isIn("pending", "ok", "skipped");
                if ("skipped".equals(shadow.path("status").asText())) {
                    skipped++;
                }
            }
            assertThat(skipped).isGreaterThan(0);
            JsonNode slowOverall = http.get("/api/deployments/" + s + "/comparison", ADMIN).json().path("overall");
            assertThat(slowOverall.path("skips").asLong()).isEqualTo(skipped);
            assertThat(slowOverall.path("requests").asLong()).isEqualTo(200);
            assertThat(http.get("/metrics", null).body())
                    .contains("flywheel_shadow_skips_total{deployment=\"" + s + "\"} " + skipped + ".0");
            // The shadow keeps working through its queue: the inputs it took get their results.
            JsonNode first = await(http, slowIds.get(0), "ok");
            assertThat(first.path("label").asText()).isEqualTo("setosa-like");
            assertThat(first.path("latency_ms").asDouble()).isGreaterThanOrEqualTo(2000);
            // It ran on the shadow's pass thread, which the kernel schedules only when nothing else wants the CPU.
            if (Files.exists(Path.of("/proc/thread-self"))) {
                assertThat(IdleThreadsTest.policiesOfThreadsNamed("shadow-pass-")).isNotEmpty()
                        .containsOnly(IdleThreadsTest.SCHED_IDLE);
            }
        }
    }

    private static String upload(Http http, String model, String format, String artifact) {
        String metadata = "{\"format\": \"" + format + "\", \"task\": \"classification\", \"labels\": " + IRIS_LABELS
                + ", \"input\": {\"kind\": \"features\", \"size\": 4}, \"output\": \"logits\"}";
        var r = http.multipart().file("file", "model.bin", "application/octet-stream", artifact.getBytes())
                .field("metadata", metadata).post("/api/models/" + model + "/versions", ADMIN);
        assertThat(r.status()).as(r.toString()).isEqualTo(201);
        return r.json().path("id").asText();
    }

    private static JsonNode await(Http http, String predictionId, String status) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            JsonNode shadow = http.get("/api/predictions/" + predictionId, ADMIN).json().path("shadow");
            if (status.equals(shadow.path("status").asText())) {
                return shadow;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the shadow of " + predictionId + " is still " + shadow);
            }
            Thread.sleep(100);
        }
    }
}
