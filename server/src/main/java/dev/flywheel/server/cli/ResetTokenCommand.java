package dev.flywheel.server.cli;

import dev.flywheel.server.access.TokenService;
import dev.flywheel.server.access.TokenStore;
import dev.flywheel.server.config.ServerSettings;
import dev.flywheel.server.events.EventService;
import dev.flywheel.server.events.EventStore;
import dev.flywheel.server.persistence.Database;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flywheel admin reset-token}: regains access when no admin secret is left (all revoked, expired or lost). It
 * writes a new admin token straight into the server's database, so it needs what only the server host has: the
 * server's settings and its database. The API never offers this.
 */
@Command(name = "reset-token", mixinStandardHelpOptions = true,
        description = {
            "Creates a new admin token in the server's database and prints its secret once. Other tokens are left as",
            "they are (revoke the ones you no longer trust with the new token).",
            "",
            "It reads the same settings as 'flywheel server' (conf/flywheel.properties and FLYWHEEL_* variables).",
            "On PostgreSQL it works while servers run; on embedded H2 stop the server first (H2 has one user at a",
            "time).",
            ""})
public final class ResetTokenCommand implements Callable<Integer> {

    @Option(names = "--config", description = "properties file (default: <install>/conf/flywheel.properties)")
    Path config;

    @Option(names = "--name", description = "the new token's name (default: ${DEFAULT-VALUE})", defaultValue = "reset-admin")
    String name;

    /** The environment the settings are read from; tests give their own. */
    Map<String, String> env = System.getenv();

    @Override
    public Integer call() {
        Path home = Launcher.home();
        Path conf = config != null ? config : home == null ? null : home.resolve("conf/flywheel.properties");
        ServerSettings settings;
        try {
            settings = ServerSettings.load(conf, env, home);
        } catch (ServerSettings.InvalidSettingsException e) {
            System.err.println("flywheel: " + e.getMessage());
            return 2;
        }
        Database database;
        try {
            database = Database.open(settings);
        } catch (RuntimeException e) {
            if (sqlState(e, "90020")) {
                System.err.println("flywheel: the H2 database in " + settings.dataDir().resolve("db")
                        + " is in use by a running server; stop the server, then run this again");
            } else {
                System.err.println("flywheel: cannot open the database: " + e.getMessage());
            }
            return 1;
        }
        try (database) {
            Clock clock = Clock.systemUTC();
            var events = new EventService(new EventStore(database.jdbi()), clock, new SimpleMeterRegistry());
            var tokens = new TokenService(new TokenStore(database.jdbi()), events, clock);
            TokenService.Created created = tokens.resetAdmin(name, "flywheel admin reset-token ("
                    + System.getProperty("user.name") + ")");
            System.out.println("""
                    A new admin token '%s' (%s) was created. Its secret is shown only now:

                        %s
                    """.formatted(created.token().name(), created.token().id(), created.secret()));
            return 0;
        }
    }

    private static boolean sqlState(Throwable e, String state) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException s && state.equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }
}
