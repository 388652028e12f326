package dev.flywheel.server.training;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.Fixtures;
import dev.flywheel.server.testing.Http;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The user's own trainer: {@code docs/examples/train.py}, written only against the training job contract, runs as a
 * command trainer through the local provisioner and registers a better model. Needs {@code /usr/bin/python3} with
 * PyTorch (Debian's python3-torch); CI installs it, so there it never skips.
 */
class CommandTrainerExampleTest {

    private static final String ADMIN = TestServer.ADMIN_TOKEN;

    @TempDir
    Path dir;

    @Test
    void thePythonExampleFineTunesTheModelUnderTheJobContract() throws Exception {
        requireTorch();
        Path script = Path.of(System.getProperty("flywheel.test.examples"), "train.py").toAbsolutePath();
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir);
                var server = TestServer.start(db, dir, s -> s.withIntervals(Duration.ofSeconds(60), Duration.ofMillis(500)))) {
            Http http = server.http();
            String base = Fixtures.upload(http, ADMIN, "python-trained", Fixtures.FEATURES).path("id").asText();
            String dataset = http.post("/api/datasets", ADMIN, "{\"name\": \"shifted\"}").json().path("id").asText();
            String version = http.post("/api/datasets/" + dataset + "/versions", ADMIN, "{\"name\": \"v1\"}").json()
                    .path("id").asText();
            var world = new World(5, true);
            for (int i = 0; i < 240; i++) {
                var p = world.next();
                http.post("/api/dataset-versions/" + version + "/items", ADMIN,
                        p.payload().replace("}", ", \"label\": \"" + p.label() + "\"}"));
            }
            String d = Fixtures.deploy(http, ADMIN, "python", base, null);
            var configured = http.put("/api/deployments/" + d + "/continuous-training", ADMIN, "{\"trainer\": "
                    + "{\"type\": \"command\", \"command\": [\"/usr/bin/python3\", " + TrainingApiContract.json(script.toString())
                    + "], \"params\": {\"epochs\": 40, \"learning_rate\": 0.02}}}");
            assertThat(configured.status()).as(configured.toString()).isEqualTo(200);
            String run = http.post("/api/deployments/" + d + "/training-runs", ADMIN,
                    "{\"dataset_version_ids\": [\"" + version + "\"]}").json().path("id").asText();

            Instant deadline = Instant.now().plus(Duration.ofMinutes(4));
            JsonNode done = http.get("/api/training-runs/" + run, ADMIN).json();
            while (!List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(done.path("status").asText())) {
                assertThat(Instant.now()).isBefore(deadline);
                Thread.sleep(250);
                done = http.get("/api/training-runs/" + run, ADMIN).json();
            }
            String log = http.get("/api/training-runs/" + run + "/log", ADMIN).json().path("text").asText();
            assertThat(done.path("status").asText()).as(log).isEqualTo("SUCCEEDED");
            assertThat(log).contains("base model validation accuracy").contains("epoch 40/40");
            double before = done.at("/metrics/base_val_accuracy").asDouble();
            double after = done.at("/metrics/val_accuracy").asDouble();
            assertThat(after).as("%s -> %s", before, after).isGreaterThan(before + 0.1);
            JsonNode lineage = http.get("/api/model-versions/" + done.path("result_model_version_id").asText()
                    + "/lineage", ADMIN).json();
            assertThat(lineage.path("parent_version_id").asText()).isEqualTo(base);
            assertThat(lineage.path("dataset_version_ids").get(0).asText()).isEqualTo(version);
        }
    }

    private static void requireTorch() throws Exception {
        boolean ok;
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import torch").redirectErrorStream(true).start();
            ok = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            ok = false;
        }
        if (!ok) {
            String msg = "/usr/bin/python3 cannot import torch: apt-get install python3-torch";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException(msg + " (.ci/run installs it)");
            }
            Assumptions.abort(msg);
        }
    }
}
