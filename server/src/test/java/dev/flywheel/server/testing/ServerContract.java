package dev.flywheel.server.testing;

import dev.flywheel.server.config.ServerSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The base of the API contracts that run once on H2 and once on PostgreSQL: one real server per test class, on a
 * fresh database of the subclass's {@link #backend()}, with the built plugin jars. Subclasses add their own
 * {@code @BeforeAll} set-up (it runs after this one's) and test only through {@link #http}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ServerContract {

    protected static final String ADMIN = TestServer.ADMIN_TOKEN;

    protected Path dir;
    protected TestDatabase db;
    protected TestServer server;
    protected Http http;

    /** The database this run of the contract uses. */
    protected abstract TestDatabase.Kind backend();

    /** The server's settings for this contract; by default the test defaults. */
    protected ServerSettings settings(ServerSettings defaults) {
        return defaults;
    }

    @BeforeAll
    final void startServer() throws IOException {
        dir = Files.createTempDirectory("flywheel-" + getClass().getSimpleName());
        db = TestDatabase.create(backend(), dir);
        server = TestServer.start(db, dir, this::settings);
        http = server.http();
    }

    @AfterAll
    final void stopServer() {
        if (server != null) {
            server.close();
        }
        if (db != null) {
            db.close();
        }
    }
}
