package dev.flywheel.server.cli;

import dev.flywheel.server.FlywheelServer;
import dev.flywheel.server.config.ServerSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flywheel server}: runs the HTTP API, the UI, the scheduler and the plugins until stopped. */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = {
            "Starts the server. With no settings it runs on embedded H2 with its files under ~/.flywheel.",
            "",
            "Settings come from conf/flywheel.properties and are overridden by environment variables:",
            "  FLYWHEEL_PORT          HTTP port (default 8080)",
            "  FLYWHEEL_HOST          address to bind (default all)",
            "  FLYWHEEL_DATA_DIR      H2 database, blobs, work dirs (default ~/.flywheel)",
            "  FLYWHEEL_DB_URL        PostgreSQL JDBC URL; unset means embedded H2",
            "  FLYWHEEL_DB_USER       database user",
            "  FLYWHEEL_DB_PASSWORD   database password",
            "  FLYWHEEL_ADMIN_TOKEN   secret of the first admin token; unset: one is generated and printed once",
            "  FLYWHEEL_PLUGINS_DIR   plugin jars (default <install>/plugins)",
            "  FLYWHEEL_MAX_REQUEST_BYTES  largest request body (default 20 MiB)",
            "  FLYWHEEL_MAX_PLUGIN_BYTES   largest plugin upload (default 1 GiB)",
            "  FLYWHEEL_PUBLIC_URL    URL training jobs use to reach this server (default http://127.0.0.1:<port>)",
            "  FLYWHEEL_TRIGGER_INTERVAL   how often retraining triggers are evaluated (default 60s)",
            "  FLYWHEEL_SUPERVISOR_INTERVAL  how often training runs are advanced and their logs copied (default 5s)",
            ""})
public final class ServerCommand implements Callable<Integer> {

    @Option(names = "--config", description = "properties file (default: <install>/conf/flywheel.properties)")
    Path config;

    @Option(names = "--port", description = "HTTP port, overriding FLYWHEEL_PORT")
    Integer port;

    @Override
    public Integer call() throws InterruptedException {
        Path home = Launcher.home();
        Path conf = config != null ? config : home == null ? null : home.resolve("conf/flywheel.properties");
        ServerSettings settings;
        try {
            settings = ServerSettings.load(conf, System.getenv(), home);
        } catch (ServerSettings.InvalidSettingsException e) {
            System.err.println("flywheel: " + e.getMessage());
            return 2;
        }
        if (port != null) {
            settings = settings.withPort(port);
        }
        FlywheelServer server;
        try {
            server = FlywheelServer.start(settings);
        } catch (RuntimeException e) {
            System.err.println("flywheel: the server could not start: " + rootMessage(e));
            return 1;
        }
        server.generatedAdminToken().ifPresent(secret -> System.out.println("""

                ==================================================================
                  No admin token was configured, so one was generated. It is shown
                  only now; keep it (or set FLYWHEEL_ADMIN_TOKEN next time):

                    %s
                ==================================================================
                """.formatted(secret)));
        System.out.println("Flywheel is up: http://localhost:" + server.port() + "/  (API: /openapi.json, health: /health)");
        var stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "flywheel-shutdown"));
        stopped.await();
        return 0;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }
}
