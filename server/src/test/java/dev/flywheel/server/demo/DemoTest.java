package dev.flywheel.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.server.testing.CpuHogs;
import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code flywheel demo --fast} against a real server with the real plugins, both worlds side by side, on a busy machine
 * (two other processes spin at normal priority throughout, as on a shared build box): each model's first version is
 * trained by the built-in trainer from an untrained upload, the loop closes on its own, and the promoted version is
 * more accurate on its drifted world than the one it replaced. On a busy machine the idle-priority shadow is starved;
 * the promoter must neither reject it for the latency that causes nor wait forever for its evidence.
 */
class DemoTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 12, unit = java.util.concurrent.TimeUnit.MINUTES)
    void onABusyMachineTheFastDemoClosesTheLoopInBothWorldsWithMoreAccuratePromotedVersions() throws Exception {
        try (var hogs = CpuHogs.start(2, 720);
                var db = TestDatabase.create(TestDatabase.Kind.H2, dir);
                var server = TestServer.start(db, dir, s -> s.withIntervals(Duration.ofSeconds(1),
                        Duration.ofMillis(500)))) {
            var command = new DemoCommand();
            var captured = new ByteArrayOutputStream();
            PrintStream stdout = System.out;
            int code;
            // The demo prints to System.out; the test keeps a copy to show when it fails, and still shows it live.
            System.setOut(new PrintStream(new TeeStream(stdout, captured), true, StandardCharsets.UTF_8));
            try {
                code = new CommandLine(command).execute("--fast", "--server", "http://127.0.0.1:" + server.port(),
                        "--token", TestServer.ADMIN_TOKEN, "--exit");
            } finally {
                System.setOut(stdout);
            }
            String output = captured.toString(StandardCharsets.UTF_8);
            assertThat(command.results).as(output).isNotNull();
            assertThat(command.results).as(output).extracting(DemoResult::world).containsExactly("features", "images");
            assertThat(code).as(output).isZero();
            assertThat(hogs.running()).as("the machine stayed busy throughout").isEqualTo(2);
            assertThat(output).contains("accuracy on the drifted world, before → after");
            var http = server.http();
            for (DemoResult result : command.results) {
                String world = result.world();
                // The first version: an untrained upload (version 1), trained by a run of the built-in trainer.
                assertThat(result.oldVersionNumber()).as(world).isEqualTo(2);
                assertThat(result.initialTrainItems()).as(world).isEqualTo(320);
                assertThat(result.initialValAccuracy()).as(world + ": validation accuracy of the first training")
                        .isGreaterThanOrEqualTo(0.9);
                assertThat(result.originalAccuracy()).as(world + ": version 2 on the original world")
                        .isGreaterThanOrEqualTo(0.9);
                assertThat(result.initialEventTypes()).as(world).contains("training.run_succeeded",
                        "deployment.promoted");
                JsonNode untrained = http.get("/api/model-versions/" + result.untrainedVersionId(),
                        TestServer.ADMIN_TOKEN).json();
                assertThat(untrained.path("version").asInt()).as(world).isEqualTo(1);
                JsonNode first = http.get("/api/model-versions/" + result.oldVersionId() + "/lineage",
                        TestServer.ADMIN_TOKEN).json();
                assertThat(first.path("parent_version_id").asText()).as(world).isEqualTo(result.untrainedVersionId());
                assertThat(first.path("training_run_id").asText()).as(world).isNotEmpty();

                // The loop.
                assertThat(result.success()).as(world + ": " + result.failure()).isTrue();
                assertThat(result.promoted()).as(world).isTrue();
                assertThat(result.newVersionNumber()).as(world).isEqualTo(3);
                assertThat(result.after()).as(world + ": accuracy on the drifted world, promoted vs replaced")
                        .isGreaterThan(result.before() + 0.1);
                assertThat(result.afterSamples()).as(world).isGreaterThanOrEqualTo(200);
                assertThat(result.eventTypes()).as(world).contains("training.triggered", "training.run_succeeded",
                        "continuous_deployment.new_version", "deployment.promoted");
                assertThat(result.eventTypes().indexOf("training.triggered")).as(world)
                        .isLessThan(result.eventTypes().indexOf("training.run_succeeded"));
                assertThat(result.eventTypes().indexOf("training.run_succeeded")).as(world)
                        .isLessThan(result.eventTypes().indexOf("deployment.promoted"));
                assertThat(result.duration()).as(world).isLessThan(Duration.ofMinutes(9));
                // Never rejected for latency: every decision on the loop's shadow promoted or waited.
                assertThat(result.eventTypes()).as(world).doesNotContain("shadow.removed");

                // The server tells the same story: the deployment serves version 3, which came from the loop's run.
                JsonNode d = http.get("/api/deployments/" + result.deploymentId(), TestServer.ADMIN_TOKEN).json();
                assertThat(d.path("primary_model_version_id").asText()).as(world).isEqualTo(result.newVersionId());
                assertThat(d.path("previous_primary_model_version_id").asText()).as(world)
                        .isEqualTo(result.oldVersionId());
                JsonNode lineage = http.get("/api/model-versions/" + result.newVersionId() + "/lineage",
                        TestServer.ADMIN_TOKEN).json();
                assertThat(lineage.path("parent_version_id").asText()).as(world).isEqualTo(result.oldVersionId());
                assertThat(lineage.path("training_run_id").asText()).as(world).isNotEmpty();
            }
            assertThat(output).contains("features: the loop closed on its own", "images: the loop closed on its own");
        }
    }

    @Test
    void wrongSizesAreRefusedWithAMessage() {
        var err = new java.io.StringWriter();
        var cli = new CommandLine(new DemoCommand());
        cli.setErr(new java.io.PrintWriter(err));
        PrintStream stderr = System.err;
        var captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertThat(cli.execute("--fast", "--calm", "400", "--threshold", "300", "--server", "http://127.0.0.1:1",
                    "--token", "x")).isEqualTo(2);
        } finally {
            System.setErr(stderr);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("--threshold (300) must be above --calm (400)");
    }

    /** Writes to two streams. */
    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}
