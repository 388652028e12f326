package dev.flywheel.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The assembled product under test, {@code distribution/target/flywheel/bin/flywheel server}, as a child process:
 * on 127.0.0.1, embedded H2 in a fresh temporary data directory (deleted on {@link #close}), the shipped plugins,
 * a random admin token. Every benchmark that drives Flywheel starts it this way, so that they measure the same
 * product with the same defaults.
 */
final class FlywheelServerProcess implements AutoCloseable {

    private final ChildProcess child;
    private final Path data;
    private final int port;
    private final String token;
    private final FlywheelAdmin admin;

    private FlywheelServerProcess(ChildProcess child, Path data, int port, String token) {
        this.child = child;
        this.data = data;
        this.port = port;
        this.token = token;
        this.admin = new FlywheelAdmin(port, token);
    }

    /**
     * Starts the server and waits until it answers.
     *
     * @param dist the assembled product
     * @param logName the console's file name under {@code logDir}, without {@code .log}
     * @param javaOpts extra JVM options (e.g. a flight recording), or empty
     */
    static FlywheelServerProcess start(Path dist, String logName, Path logDir, String javaOpts) throws Exception {
        return start(dist, logName, logDir, javaOpts, Map.of());
    }

    /**
     * Starts the server with settings of its own on top of the defaults, and waits until it answers.
     *
     * @param settings environment variables such as {@code FLYWHEEL_MAX_REQUEST_BYTES}
     */
    static FlywheelServerProcess start(Path dist, String logName, Path logDir, String javaOpts,
            Map<String, String> settings) throws Exception {
        int port = ChildProcess.freePort();
        Path data = Files.createTempDirectory("flywheel-bench-");
        String token = "fw_bench_" + UUID.randomUUID().toString().replace("-", "");
        System.out.println("starting " + dist.resolve("bin/flywheel") + " server on 127.0.0.1:" + port
                + " (H2, data in " + data + ")…");
        Map<String, String> env = new HashMap<>();
        env.put("FLYWHEEL_PORT", Integer.toString(port));
        env.put("FLYWHEEL_HOST", "127.0.0.1");
        env.put("FLYWHEEL_DATA_DIR", data.toString());
        env.put("FLYWHEEL_ADMIN_TOKEN", token);
        env.put("FLYWHEEL_PLUGINS_DIR", dist.resolve("plugins").toString());
        // A database URL in the caller's environment would point the server at a shared database.
        env.put("FLYWHEEL_DB_URL", null);
        // The same JVM as every other process of the benchmark.
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("FLYWHEEL_JAVA_OPTS", javaOpts == null ? "" : javaOpts);
        env.putAll(settings);
        if (!settings.isEmpty()) {
            System.out.println("server settings: " + settings);
        }
        List<String> cmd = List.of(dist.resolve("bin/flywheel").toString(), "server");
        ChildProcess child = ChildProcess.start(logName, cmd, env, logDir);
        try {
            child.awaitOutput("Flywheel is up", Duration.ofSeconds(180));
        } catch (Exception e) {
            child.close();
            ChildProcess.deleteTree(data);
            throw e;
        }
        return new FlywheelServerProcess(child, data, port, token);
    }

    ChildProcess child() {
        return child;
    }

    int port() {
        return port;
    }

    FlywheelAdmin admin() {
        return admin;
    }

    /** The header line every load request carries. */
    String authHeader() {
        return "Authorization: Bearer " + token + "\r\n";
    }

    @Override
    public void close() throws InterruptedException, IOException {
        try {
            child.close();
        } finally {
            ChildProcess.deleteTree(data);
        }
    }
}
