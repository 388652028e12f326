package dev.flywheel.distribution;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The assembled product, run as an operator runs it: {@code bin/flywheel} from another working directory, settings
 * from the environment, the shipped plugin jars loaded from {@code plugins/}.
 */
class DistributionIT {

    private static final Path DIST = Path.of(System.getProperty("flywheel.dist"));
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path work;

    @Test
    void theLayoutIsComplete() throws IOException {
        assertThat(DIST.resolve("bin/flywheel")).isExecutable();
        assertThat(DIST.resolve("conf/flywheel.properties")).isRegularFile();
        assertThat(list(DIST.resolve("lib"))).anyMatch(n -> n.startsWith("flywheel-server-"))
                .anyMatch(n -> n.startsWith("flywheel-plugin-api-"));
        // Plugins are only ever loaded from plugins/, never from the server's class path.
        assertThat(list(DIST.resolve("lib"))).noneMatch(n -> n.startsWith("flywheel-plugin-") && !n.startsWith("flywheel-plugin-api"));
        assertThat(list(DIST.resolve("plugins"))).anyMatch(n -> n.startsWith("flywheel-plugin-trigger-review-threshold"))
                .anyMatch(n -> n.startsWith("flywheel-plugin-runtime-djl"));
        assertThat(DIST.resolveSibling("flywheel-" + version() + ".tar.gz")).isRegularFile();
    }

    @Test
    void helpWorksFromAnyDirectory() throws Exception {
        Process p = new ProcessBuilder(DIST.resolve("bin/flywheel").toString(), "--help")
                .directory(work.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(out).contains("Usage: flywheel").contains("server").contains("demo");
        Process demoHelp = new ProcessBuilder(DIST.resolve("bin/flywheel").toString(), "demo", "--help")
                .directory(work.toFile()).redirectErrorStream(true).start();
        String demoOut = new String(demoHelp.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(demoHelp.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(demoOut).as(demoOut).contains("Usage: flywheel demo").contains("--fast").contains("--server");

        // An invalid setting stops the start with a message that says what to set.
        ProcessBuilder pb = new ProcessBuilder(DIST.resolve("bin/flywheel").toString(), "server")
                .directory(work.toFile()).redirectErrorStream(true);
        pb.environment().put("FLYWHEEL_PORT", "not-a-port");
        Process invalid = pb.start();
        String err = new String(invalid.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(invalid.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(invalid.exitValue()).isEqualTo(2);
        assertThat(err).contains("FLYWHEEL_PORT").contains("not-a-port");
    }

    @Test
    void theServerStartsOnH2LoadsTheShippedPluginsAndSurvivesABrokenOne() throws Exception {
        Path plugins = Files.createDirectories(work.resolve("plugins"));
        try (Stream<Path> s = Files.list(DIST.resolve("plugins"))) {
            for (Path jar : s.toList()) {
                Files.createSymbolicLink(plugins.resolve(jar.getFileName()), jar);
            }
        }
        Files.writeString(plugins.resolve("corrupt.jar"), "not a jar at all");
        int port = freePort();
        Path data = work.resolve("data");

        // First start with no admin token: one is generated and printed once.
        Process first = start(port, data, plugins, null);
        String token;
        try {
            String out = waitForOutput(first, "Flywheel is up", Duration.ofSeconds(120));
            assertThat(out).contains("No admin token was configured");
            token = out.lines().map(String::trim).filter(l -> l.startsWith("fw_")).findFirst().orElseThrow();

            JsonNode health = get(port, "/health", null);
            assertThat(health.path("status").asText()).isEqualTo("up");
            assertThat(health.at("/checks/database/kind").asText()).isEqualTo("h2");

            JsonNode items = get(port, "/api/plugins", token).path("items");
            Map<String, String> states = new java.util.HashMap<>();
            items.forEach(p -> states.put(p.path("id").asText(), p.path("state").asText()));
            assertThat(states).containsEntry("trigger-review-threshold", "started")
                    .containsEntry("trigger-drift", "started")
                    .containsEntry("trigger-schedule", "started")
                    .containsEntry("promoter-paired", "started")
                    .containsEntry("provisioner-local", "started")
                    .containsEntry("provisioner-kubernetes", "started")
                    .containsEntry("runtime-djl", "started")
                    .containsEntry("corrupt.jar", "failed");
        } finally {
            stop(first);
        }
        assertThat(Files.exists(data.resolve("db"))).isTrue();

        // Second start on the same data: the token still works and no new one is printed.
        Process second = start(port, data, plugins, null);
        try {
            String out = waitForOutput(second, "Flywheel is up", Duration.ofSeconds(120));
            assertThat(out).doesNotContain("No admin token was configured");
            assertThat(get(port, "/api/me", token).path("role").asText()).isEqualTo("admin");
        } finally {
            assertThat(stop(second)).as("graceful stop on SIGTERM").isIn(0, 143);
        }
    }

    private Process start(int port, Path data, Path plugins, String adminToken) throws IOException {
        var pb = new ProcessBuilder(DIST.resolve("bin/flywheel").toString(), "server")
                .directory(work.toFile()).redirectErrorStream(true);
        pb.environment().put("FLYWHEEL_PORT", Integer.toString(port));
        pb.environment().put("FLYWHEEL_DATA_DIR", data.toString());
        pb.environment().put("FLYWHEEL_PLUGINS_DIR", plugins.toString());
        pb.environment().remove("FLYWHEEL_DB_URL");
        if (adminToken != null) {
            pb.environment().put("FLYWHEEL_ADMIN_TOKEN", adminToken);
        } else {
            pb.environment().remove("FLYWHEEL_ADMIN_TOKEN");
        }
        Path log = work.resolve("server-" + System.nanoTime() + ".log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        logs.put(p, log);
        return p;
    }

    /** Each started server's console, to wait for and to show when something fails. */
    private final Map<Process, Path> logs = new java.util.HashMap<>();

    private String waitForOutput(Process p, String marker, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        Path log = logs.get(p);
        while (Instant.now().isBefore(deadline)) {
            String out = Files.readString(log);
            if (out.contains(marker)) {
                return out;
            }
            if (!p.isAlive()) {
                throw new AssertionError("the server exited with " + p.exitValue() + ":\n" + out);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no '" + marker + "' within " + timeout + ":\n" + Files.readString(log));
    }

    private static int stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the server did not stop within 60 s of SIGTERM");
        }
        return p.exitValue();
    }

    private JsonNode get(int port, String path, String token) throws Exception {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static int freePort() throws IOException {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    private static String version() {
        return System.getProperty("flywheel.version");
    }
}
