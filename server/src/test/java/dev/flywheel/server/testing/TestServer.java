package dev.flywheel.server.testing;

import dev.flywheel.server.FlywheelServer;
import dev.flywheel.server.config.ServerSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A real server for a test: its own data directory, a fresh database, and the real plugin jars the build made
 * (copied from {@code target/test-plugins}) in its own plugins directory.
 */
public final class TestServer implements AutoCloseable {

    public static final String ADMIN_TOKEN = "fw_test-admin-token-0123456789abcdef";

    private final FlywheelServer server;
    private final Http http;
    private final Path pluginsDir;

    private TestServer(FlywheelServer server, Path pluginsDir) {
        this.server = server;
        this.http = new Http(server.port());
        this.pluginsDir = pluginsDir;
    }

    /** Starts a server on that database with the built plugins. */
    public static TestServer start(TestDatabase db, Path dir) {
        return start(db, dir, true);
    }

    /** Starts a server on that database with the built plugins and settings changed by {@code tweak}. */
    public static TestServer start(TestDatabase db, Path dir, java.util.function.UnaryOperator<ServerSettings> tweak) {
        linkBuiltPlugins(dir.resolve("plugins"));
        return start(tweak.apply(settings(db, dir, dir.resolve("plugins"))));
    }

    /** Starts a server on that database, with or without the built plugins. */
    public static TestServer start(TestDatabase db, Path dir, boolean withBuiltPlugins) {
        Path plugins = dir.resolve("plugins");
        if (withBuiltPlugins) {
            linkBuiltPlugins(plugins);
        } else {
            try {
                Files.createDirectories(plugins);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return start(settings(db, dir, plugins));
    }

    /** Links the built plugin jars into a plugins directory (once; a restarted server finds them there). */
    public static void linkBuiltPlugins(Path plugins) {
        try {
            Files.createDirectories(plugins);
            for (Path jar : builtPlugins()) {
                Path link = plugins.resolve(jar.getFileName());
                if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    // Linked, not copied: the DJL runtime jar is over 100 MB.
                    Files.createSymbolicLink(link, jar.toAbsolutePath());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a server with exactly these settings. */
    public static TestServer start(ServerSettings settings) {
        return new TestServer(FlywheelServer.start(settings), settings.pluginsDir());
    }

    /** Settings for a test server on that database. */
    public static ServerSettings settings(TestDatabase db, Path dir, Path plugins) {
        return new ServerSettings(0, "127.0.0.1", dir.resolve("data"), db.url(), db.user(), db.password(), ADMIN_TOKEN,
                plugins, 64 * 1024, 64L * 1024 * 1024, null, java.time.Duration.ofSeconds(60),
                java.time.Duration.ofSeconds(1), true, 25);
    }

    /** The plugin jars the build produced, which every server test loads through PF4J. */
    public static java.util.List<Path> builtPlugins() {
        String dir = System.getProperty("flywheel.test.plugins");
        if (dir == null) {
            throw new IllegalStateException("flywheel.test.plugins is not set; run the tests with Maven (mvn verify)");
        }
        try (Stream<Path> s = Files.list(Path.of(dir))) {
            var jars = s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
            if (jars.isEmpty()) {
                throw new IllegalStateException("no plugin jars in " + dir + "; build the plugins first (mvn verify)");
            }
            return jars;
        } catch (IOException e) {
            throw new UncheckedIOException("no plugin jars in " + dir + "; build the plugins first (mvn verify)", e);
        }
    }

    public Http http() {
        return http;
    }

    public FlywheelServer server() {
        return server;
    }

    public Path pluginsDir() {
        return pluginsDir;
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
    }
}
