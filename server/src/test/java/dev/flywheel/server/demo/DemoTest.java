package dev.flywheel.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
 * {@code flywheel demo --fast} against a real server with the real plugins: the loop closes on its own, and the
 * promoted version is more accurate on the drifted world than the one it replaced.
 */
class DemoTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
    void theFastDemoClosesTheLoopWithAMoreAccuratePromotedVersion() throws Exception {
        try (var db = TestDatabase.create(TestDatabase.Kind.H2, dir);
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
            DemoResult result = command.result;
            assertThat(result).as(output).isNotNull();
            assertThat(code).as(output).isZero();
            assertThat(result.promoted()).isTrue();
            assertThat(result.newVersionNumber()).isEqualTo(2);
            assertThat(result.after()).as("accuracy on the drifted world, promoted vs replaced")
                    .isGreaterThan(result.before() + 0.1);
            assertThat(result.afterSamples()).isGreaterThanOrEqualTo(200);
            assertThat(result.eventTypes()).contains("training.triggered", "training.run_succeeded",
                    "continuous_deployment.new_version", "deployment.promoted");
            assertThat(result.eventTypes().indexOf("training.run_succeeded"))
                    .isLessThan(result.eventTypes().indexOf("deployment.promoted"));
            assertThat(result.duration()).isLessThan(Duration.ofMinutes(4));
            assertThat(output).contains("accuracy on the drifted world:").contains("the loop closed on its own");

            // The server tells the same story: the deployment serves version 2, which came from the run.
            var http = server.http();
            JsonNode d = http.get("/api/deployments/" + result.deploymentId(), TestServer.ADMIN_TOKEN).json();
            assertThat(d.path("primary_model_version_id").asText()).isEqualTo(result.newVersionId());
            assertThat(d.path("previous_primary_model_version_id").asText()).isEqualTo(result.oldVersionId());
            JsonNode lineage = http.get("/api/model-versions/" + result.newVersionId() + "/lineage",
                    TestServer.ADMIN_TOKEN).json();
            assertThat(lineage.path("parent_version_id").asText()).isEqualTo(result.oldVersionId());
            assertThat(lineage.path("training_run_id").asText()).isNotEmpty();
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
