package dev.flywheel.distribution;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.server.persistence.Database;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The assembled product killed and stopped under load, on H2 and on PostgreSQL, as an unlucky operator's server is:
 * {@code kill -9} loses no acknowledged durable prediction (and says how many async ones it loses), {@code SIGTERM}
 * loses no acknowledged prediction of either mode and logs no error, and {@code flywheel admin reset-token} gets an
 * admin back in.
 */
class KillAndStopIT {

    private static final Path DIST = Path.of(System.getProperty("flywheel.dist"));
    private static final Path FIXTURE = Path.of(System.getProperty("flywheel.test.fixtures"), "models", "features-3class");
    private static final String ADMIN = "fw_kill-and-stop-admin-0123456789abcdef";
    private static final String PG_URL = env("FLYWHEEL_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    private static final String PG_USER = env("FLYWHEEL_TEST_PG_USER", "postgres");
    private static final String PG_PASSWORD = env("FLYWHEEL_TEST_PG_PASSWORD", "");
    private static final int CLIENTS = 8;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path work;

    @Test
    void onH2() throws Exception {
        Path data = work.resolve("data");
        Map<String, String> env = Map.of("FLYWHEEL_DATA_DIR", data.toString());
        run("H2", env, () -> Database.open(Database.h2FileUrl(data.resolve("db").resolve("flywheel")), null, null));
    }

    @Test
    void onPostgres() throws Exception {
        String schema = "fw_kill_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD)) {
            c.createStatement().execute("CREATE SCHEMA " + schema);
        } catch (SQLException e) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException("PostgreSQL is not reachable at " + PG_URL + " (CI=true: it must be)", e);
            }
            Assumptions.abort("PostgreSQL is not reachable at " + PG_URL + ": " + e.getMessage());
        }
        String url = PG_URL + (PG_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        try {
            Map<String, String> env = Map.of("FLYWHEEL_DATA_DIR", work.resolve("data").toString(),
                    "FLYWHEEL_DB_URL", url, "FLYWHEEL_DB_USER", PG_USER, "FLYWHEEL_DB_PASSWORD", PG_PASSWORD);
            run("PostgreSQL", env, () -> Database.open(url, PG_USER, PG_PASSWORD));
        } finally {
            try (Connection c = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD)) {
                c.createStatement().execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }

    private interface Opener {
        Database open();
    }

    private void run(String name, Map<String, String> env, Opener database) throws Exception {
        int port = freePort();
        boolean h2 = !env.containsKey("FLYWHEEL_DB_URL");

        // kill -9 under load.
        Server first = start(port, env);
        String durable;
        String async;
        Load killed;
        try {
            first.awaitUp();
            String version = uploadModel(port);
            durable = deploy(port, "kill-durable", version, "durable");
            async = deploy(port, "kill-async", version, "async");
            killed = new Load(port, durable, async);
            killed.awaitAnswers(1_500, Duration.ofSeconds(90));
            long killedAt = System.nanoTime();
            first.process.destroyForcibly();
            assertThat(first.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            killed.stop();
            Set<String> stored = storedIds(database);
            List<Long> asyncLostAt = killed.asyncAcks.entrySet().stream().filter(e -> !stored.contains(e.getKey()))
                    .map(Map.Entry::getValue).sorted().toList();
            long durableLost = killed.durableAcks.keySet().stream().filter(id -> !stored.contains(id)).count();
            String window = asyncLostAt.isEmpty() ? "none"
                    : "all acknowledged in the last " + Math.max(0, (killedAt - asyncLostAt.get(0)) / 1_000_000)
                    + " ms before the kill";
            System.out.println("kill -9 under load (" + name + "): durable " + durableLost + " of "
                    + killed.durableAcks.size() + " acknowledged lost; async " + asyncLostAt.size() + " of "
                    + killed.asyncAcks.size() + " acknowledged lost (" + window + ")");
            assertThat(durableLost).as("acknowledged durable predictions lost by kill -9").isZero();
        } finally {
            first.process.destroyForcibly();
        }

        // SIGTERM under load, on the same data; the admin token is reset on the way.
        Server second = start(port, env);
        Load stopped;
        try {
            second.awaitUp();
            if (h2) {
                var refused = resetToken(env);
                assertThat(refused.code()).as(refused.output()).isEqualTo(1);
                assertThat(refused.output()).contains("in use by a running server");
            } else {
                // On PostgreSQL the command works beside the running server, which takes the new token at once.
                String secret = secretOf(resetToken(env));
                assertThat(get(port, "/api/me", secret).path("role").asText()).isEqualTo("admin");
            }
            stopped = new Load(port, durable, async);
            stopped.awaitAnswers(1_500, Duration.ofSeconds(90));
            second.process.destroy();
            assertThat(second.process.waitFor(90, TimeUnit.SECONDS)).as("stopped within 90 s of SIGTERM").isTrue();
            assertThat(second.process.exitValue()).isIn(0, 143);
            stopped.stop();
        } finally {
            second.process.destroyForcibly();
        }
        String log = Files.readString(second.log);
        Set<String> stored = storedIds(database);
        long durableLost = stopped.durableAcks.keySet().stream().filter(id -> !stored.contains(id)).count();
        long asyncLost = stopped.asyncAcks.keySet().stream().filter(id -> !stored.contains(id)).count();
        List<String> errors = log.lines().filter(l -> l.contains(" ERROR ")).toList();
        System.out.println("SIGTERM under load (" + name + "): durable " + durableLost + " of "
                + stopped.durableAcks.size() + " acknowledged lost, async " + asyncLost + " of "
                + stopped.asyncAcks.size() + "; " + stopped.refused.get() + " requests refused with 503 while it "
                + "stopped; " + errors.size() + " ERROR lines in its log");
        assertThat(durableLost).as("acknowledged durable predictions lost by SIGTERM").isZero();
        assertThat(asyncLost).as("acknowledged async predictions lost by SIGTERM").isZero();
        assertThat(log).contains("every accepted prediction is written").doesNotContain("Database is already closed");
        assertThat(errors).as("errors logged while stopping").isEmpty();

        if (h2) {
            // Stopped, H2 is free: the command makes an admin token the next start accepts.
            String secret = secretOf(resetToken(env));
            Server third = start(port, env);
            try {
                third.awaitUp();
                assertThat(get(port, "/api/me", secret).path("role").asText()).isEqualTo("admin");
            } finally {
                third.process.destroy();
                third.process.waitFor(60, TimeUnit.SECONDS);
            }
        }
    }

    /** Clients predicting in a loop, half durable and half async, keeping each acknowledged id and when it came. */
    private final class Load {
        final Map<String, Long> durableAcks = new ConcurrentHashMap<>();
        final Map<String, Long> asyncAcks = new ConcurrentHashMap<>();
        final AtomicInteger refused = new AtomicInteger();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        private final List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();

        Load(int port, String durable, String async) {
            for (int i = 0; i < CLIENTS; i++) {
                boolean isDurable = i % 2 == 0;
                Map<String, Long> acks = isDurable ? durableAcks : asyncAcks;
                String deployment = isDurable ? durable : async;
                Thread t = new Thread(() -> {
                    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/deployments/"
                                    + deployment + "/predict"))
                            .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
                            .timeout(Duration.ofSeconds(60))
                            .POST(HttpRequest.BodyPublishers.ofString("{\"features\": [6.0, 2.9, 4.5, 1.5]}")).build();
                    while (!stop.get()) {
                        HttpResponse<String> r;
                        try {
                            r = http.send(request, HttpResponse.BodyHandlers.ofString());
                        } catch (IOException e) {
                            // the server is gone or going: nothing acknowledged
                            sleep(20);
                            continue;
                        } catch (InterruptedException e) {
                            return;
                        }
                        if (r.statusCode() == 200) {
                            try {
                                acks.put(JSON.readTree(r.body()).path("prediction_id").asText(), System.nanoTime());
                            } catch (IOException e) {
                                failures.add(e);
                            }
                        } else if (r.statusCode() == 503) {
                            refused.incrementAndGet();
                        } else {
                            failures.add(new AssertionError("predict answered " + r.statusCode() + ": " + r.body()));
                        }
                    }
                }, "load-" + i);
                t.start();
                threads.add(t);
            }
        }

        void awaitAnswers(int n, Duration max) {
            long deadline = System.nanoTime() + max.toNanos();
            while (durableAcks.size() + asyncAcks.size() < n || durableAcks.isEmpty() || asyncAcks.isEmpty()) {
                assertThat(System.nanoTime()).as("answers within " + max).isLessThan(deadline);
                sleep(50);
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join(TimeUnit.MINUTES.toMillis(2));
            }
            assertThat(failures).as("unexpected answers").isEmpty();
        }
    }

    private record Server(Process process, Path log) {
        void awaitUp() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (System.nanoTime() < deadline) {
                String out = Files.readString(log);
                if (out.contains("Flywheel is up")) {
                    return;
                }
                if (!process.isAlive()) {
                    throw new AssertionError("the server exited with " + process.exitValue() + ":\n" + out);
                }
                Thread.sleep(200);
            }
            throw new AssertionError("the server did not start within 2 minutes:\n" + Files.readString(log));
        }
    }

    private Server start(int port, Map<String, String> env) throws IOException {
        Path plugins = work.resolve("plugins");
        if (!Files.isDirectory(plugins)) {
            Files.createDirectories(plugins);
            try (Stream<Path> s = Files.list(DIST.resolve("plugins"))) {
                for (Path jar : s.toList()) {
                    Files.createSymbolicLink(plugins.resolve(jar.getFileName()), jar);
                }
            }
        }
        var pb = new ProcessBuilder(DIST.resolve("bin/flywheel").toString(), "server").directory(work.toFile())
                .redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("FLYWHEEL_"));
        pb.environment().putAll(env);
        pb.environment().put("FLYWHEEL_PORT", Integer.toString(port));
        pb.environment().put("FLYWHEEL_HOST", "127.0.0.1");
        pb.environment().put("FLYWHEEL_PLUGINS_DIR", plugins.toString());
        pb.environment().put("FLYWHEEL_ADMIN_TOKEN", ADMIN);
        Path log = work.resolve("server-" + System.nanoTime() + ".log");
        pb.redirectOutput(log.toFile());
        return new Server(pb.start(), log);
    }

    private record Command(int code, String output) {}

    /** {@code bin/flywheel admin reset-token} with the server's settings. */
    private Command resetToken(Map<String, String> env) throws Exception {
        var pb = new ProcessBuilder(DIST.resolve("bin/flywheel").toString(), "admin", "reset-token")
                .directory(work.toFile()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("FLYWHEEL_"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        return new Command(p.exitValue(), out);
    }

    private static String secretOf(Command c) {
        assertThat(c.code()).as(c.output()).isZero();
        return c.output().lines().map(String::trim).filter(l -> l.startsWith("fw_")).findFirst().orElseThrow();
    }

    private static Set<String> storedIds(Opener database) {
        try (Database db = database.open()) {
            return new HashSet<>(db.jdbi().withHandle(h -> h.createQuery("SELECT id FROM prediction")
                    .mapTo(String.class).list()));
        }
    }

    private String uploadModel(int port) throws Exception {
        JsonNode model = post(port, "/api/models", "{\"name\": \"kill-and-stop\"}");
        String boundary = "----kill" + System.nanoTime();
        var body = new ByteArrayOutputStream();
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"model.pt\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(Files.readAllBytes(FIXTURE.resolve("model.pt")));
        body.writeBytes(("\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8));
        body.writeBytes(Files.readAllBytes(FIXTURE.resolve("model.json")));
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/models/"
                        + model.path("id").asText() + "/versions"))
                .header("Authorization", "Bearer " + ADMIN)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return JSON.readTree(r.body()).path("id").asText();
    }

    private String deploy(int port, String name, String version, String mode) throws Exception {
        return post(port, "/api/deployments", "{\"name\": \"" + name + "\", \"model_version_id\": \"" + version
                + "\", \"settings\": {\"capture_mode\": \"" + mode + "\"}}").path("id").asText();
    }

    private JsonNode post(int port, String path, String json) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(201);
        return JSON.readTree(r.body());
    }

    private JsonNode get(int port, String path, String token) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static int freePort() throws IOException {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : v;
    }
}
