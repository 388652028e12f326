package dev.flywheel.server.serving;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestPluginJars;
import dev.flywheel.server.testing.TestServer;
import dev.flywheel.testplugins.FaultyModelRuntimeFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model runtime plugin that throws is contained: the caller gets a 502, an error event says which plugin failed,
 * nothing is stored or logged, and the server goes on serving other models.
 */
class FaultyRuntimeTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;
    private static final String METADATA = """
            {"format": "faulty", "task": "classification", "labels": ["a", "b"],
             "input": {"kind": "features", "size": 2}, "output": "logits"}""";

    @TempDir
    Path dir;

    @Test
    void aFailingRuntimeIsAnErrorEventAndA502AndTheServerKeepsServing() throws Exception {
        Path plugins = Files.createDirectories(dir.resolve("plugins"));
        TestPluginJars.build(plugins.resolve("faulty-1.0.0.jar"), "faulty-runtime", "1.0.0", ">=0.1.0", null,
                List.of(FaultyModelRuntimeFactory.class, FaultyModelRuntimeFactory.FaultyRuntime.class,
                        FaultyModelRuntimeFactory.FaultyModel.class),
                List.of(FaultyModelRuntimeFactory.class));
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir); var server = TestServer.start(db, dir)) {
            Http http = server.http();
            String model = http.post("/api/models", ADMIN, "{\"name\":\"faulty\"}").json().path("id").asText();

            var crash = http.multipart().file("file", "model.bin", "application/octet-stream", "crash-on-load".getBytes())
                    .field("metadata", METADATA).post("/api/models/" + model + "/versions", ADMIN);
            assertThat(crash.status()).as(crash.toString()).isEqualTo(502);
            assertThat(crash.json().path("error").asText()).isEqualTo("plugin_failed");
            assertThat(crash.json().path("message").asText()).contains("faulty-runtime");
            assertThat(http.get("/api/models/" + model + "/versions", ADMIN).json().path("items")).isEmpty();

            var loads = http.multipart().file("file", "model.bin", "application/octet-stream", "fine".getBytes())
                    .field("metadata", METADATA).post("/api/models/" + model + "/versions", ADMIN);
            assertThat(loads.status()).as(loads.toString()).isEqualTo(201);
            String d = Fixtures.deploy(http, ADMIN, "faulty", loads.json().path("id").asText(), null);

            var predict = http.post("/api/deployments/" + d + "/predict", ADMIN, "{\"features\": [1, 2]}");
            assertThat(predict.status()).as(predict.toString()).isEqualTo(502);
            assertThat(predict.json().path("error").asText()).isEqualTo("plugin_failed");
            assertThat(http.get("/api/deployments/" + d + "/predictions", ADMIN).json().path("items")).isEmpty();

            var events = http.get("/api/events?type=model_runtime.failed", ADMIN).json().path("items");
            assertThat(events).hasSize(2).allSatisfy(e -> {
                assertThat(e.path("severity").asText()).isEqualTo("error");
                assertThat(e.path("actor").asText()).isEqualTo("faulty-runtime");
            });
            assertThat(http.get("/metrics", null).body()).containsPattern(
                    "flywheel_predictions_total\\{deployment=\"" + d + "\",outcome=\"plugin_failed\"} 1\\.0");

            String iris = Fixtures.upload(http, ADMIN, "iris", Fixtures.FEATURES).path("id").asText();
            String served = Fixtures.deploy(http, ADMIN, "iris", iris, null);
            var ok = http.post("/api/deployments/" + served + "/predict", ADMIN, "{\"features\": [5.0, 3.4, 1.5, 0.2]}");
            assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
            assertThat(ok.json().path("label").asText()).isEqualTo("setosa-like");
        }
    }
}
