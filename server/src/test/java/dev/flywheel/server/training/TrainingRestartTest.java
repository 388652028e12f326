package dev.flywheel.server.training;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.config.ServerSettings;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestPluginJars;
import dev.flywheel.server.testing.TestServer;
import dev.flywheel.testplugins.LinearModelRuntimeFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run whose job is running when the server stops is re-attached by the next server, not lost. */
class TrainingRestartTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;
    private static final String LINEAR_METADATA = "{\"format\": \"linear\", \"task\": \"classification\", "
            + "\"labels\": [\"low\", \"high\"], \"input\": {\"kind\": \"features\", \"size\": 2}, "
            + "\"output\": \"probabilities\"}";
    private static final String LINEAR_WEIGHTS = "-1 -1 0\n1 1 0\n";

    @TempDir
    Path dir;

    @Test
    void aRunningJobIsReattachedAfterTheServerRestarts() throws Exception {
        int port;
        try (var socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        // Two servers in one JVM: the models are the tiny linear runtime's, not DJL's (libtorch loads once per JVM).
        Path plugins = Files.createDirectories(dir.resolve("plugins"));
        TestPluginJars.build(plugins.resolve("linear-1.0.0.jar"), "linear-runtime", "1.0.0", ">=0.1.0", null,
                List.of(LinearModelRuntimeFactory.class, LinearModelRuntimeFactory.LinearRuntime.class,
                        LinearModelRuntimeFactory.LinearModel.class), List.of(LinearModelRuntimeFactory.class));
        for (Path jar : TestServer.builtPlugins()) {
            if (jar.getFileName().toString().contains("provisioner-local")) {
                Files.createSymbolicLink(plugins.resolve(jar.getFileName()), jar);
            }
        }
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir)) {
            ServerSettings settings = TestServer.settings(db, dir, plugins).withPort(port)
                    .withIntervals(Duration.ofSeconds(60), Duration.ofMillis(500));
            String runId;
            try (var server = TestServer.start(settings)) {
                Http http = server.http();
                String model = http.post("/api/models", ADMIN, "{\"name\": \"restartable\"}").json().path("id").asText();
                var uploaded = http.multipart().file("file", "weights.lin", "text/plain", LINEAR_WEIGHTS.getBytes())
                        .field("metadata", LINEAR_METADATA).post("/api/models/" + model + "/versions", ADMIN);
                assertThat(uploaded.status()).as(uploaded.toString()).isEqualTo(201);
                String base = uploaded.json().path("id").asText();
                String d = Fixtures.deploy(http, ADMIN, "restart", base, null);
                String dataset = http.post("/api/datasets", ADMIN, "{\"name\": \"r\"}").json().path("id").asText();
                String version = http.post("/api/datasets/" + dataset + "/versions", ADMIN, "{\"name\": \"v\"}").json()
                        .path("id").asText();
                http.post("/api/dataset-versions/" + version + "/items", ADMIN, "{\"features\": [1, 2], "
                        + "\"label\": \"high\"}");
                http.put("/api/deployments/" + d + "/continuous-training", ADMIN, TrainingApiContract.command(
                        "echo waiting; sleep 6; cp \"$FLYWHEEL_BASE_MODEL_DIR\"/model.* \"$FLYWHEEL_OUTPUT_DIR/\" && "
                        + "echo copied the base model"));
                runId = http.post("/api/deployments/" + d + "/training-runs", ADMIN,
                        "{\"dataset_version_ids\": [\"" + version + "\"]}").json().path("id").asText();
                Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
                while (!http.get("/api/training-runs/" + runId + "/log", ADMIN).json().path("text").asText()
                        .contains("waiting")) {
                    assertThat(Instant.now()).isBefore(deadline);
                    Thread.sleep(100);
                }
            }
            // The job kept running while no server was up; the new server finds it by its stored handle.
            try (var server = TestServer.start(settings)) {
                JsonNode done = await(server.http(), runId, Duration.ofMinutes(2));
                assertThat(done.path("status").asText()).as(done.toString()).isEqualTo("SUCCEEDED");
                assertThat(done.path("result_model_version_id").asText()).startsWith("mv_");
                assertThat(server.http().get("/api/training-runs/" + runId + "/log", ADMIN).json().path("text").asText())
                        .contains("waiting").contains("copied the base model");
            }
        }
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
