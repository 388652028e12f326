package dev.flywheel.server.persistence;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.flywheel.server.config.ServerSettings;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/**
 * The one database the server uses, for its own data and for Quartz: embedded H2 in the data directory by
 * default, PostgreSQL when {@code FLYWHEEL_DB_URL} is set. Both run the same Flyway migrations; H2 runs in
 * PostgreSQL mode so that one set of SQL (and Quartz's PostgreSQL delegate) serves both.
 */
public final class Database implements AutoCloseable {

    /**
     * H2 options: the PostgreSQL dialect the migrations and Quartz use, and no closing of the database by H2's own
     * JVM shutdown hook. That hook runs beside the server's and closed the database while the server was still
     * writing the predictions it had accepted; the server closes it itself, last (see {@link #close}).
     */
    public static final String H2_OPTIONS = ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH"
            + ";DB_CLOSE_ON_EXIT=FALSE";

    private final HikariDataSource dataSource;
    private final Jdbi jdbi;
    private final boolean postgres;
    private final DatabaseAvailability availability;

    private Database(HikariDataSource dataSource, boolean postgres) {
        this.dataSource = dataSource;
        this.postgres = postgres;
        this.availability = new DatabaseAvailability(dataSource);
        this.jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
    }

    /**
     * Whether {@code jdbi} talks to H2, for the few queries that need an H2-only index hint because H2's optimizer
     * would otherwise read and sort a whole deployment's predictions.
     */
    public static boolean isH2(Jdbi jdbi) {
        try {
            return "H2".equals(jdbi.withHandle(h -> h.getConnection().getMetaData().getDatabaseProductName()));
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot tell which database this is", e);
        }
    }

    /** Opens the database the settings name and brings its schema up to date. */
    public static Database open(ServerSettings settings) {
        String url = settings.dbUrl();
        if (url == null) {
            url = h2FileUrl(settings.dataDir().resolve("db").resolve("flywheel"));
        }
        return open(url, settings.dbUser(), settings.dbPassword());
    }

    /** The JDBC URL of an embedded H2 database stored at that path (without extension). */
    public static String h2FileUrl(Path file) {
        return "jdbc:h2:file:" + file.toAbsolutePath() + H2_OPTIONS;
    }

    /** Opens a database by JDBC URL and brings its schema up to date. */
    public static Database open(String url, String user, String password) {
        var config = new HikariConfig();
        config.setJdbcUrl(url);
        if (user != null) {
            config.setUsername(user);
        }
        if (password != null) {
            config.setPassword(password);
        }
        config.setPoolName("flywheel");
        config.setMaximumPoolSize(16);
        config.setMinimumIdle(2);
        // Fail the start quickly with the driver's own message when the database is unreachable.
        config.setInitializationFailTimeout(10_000);
        // How long a request waits for a connection. When the database goes away, the requests already waiting wait
        // this long once; after that DatabaseAvailability answers 503 at once until the database is back.
        config.setConnectionTimeout(5_000);
        var ds = new HikariDataSource(config);
        try {
            Flyway.configure()
                    .dataSource(ds)
                    .locations("classpath:db/migration")
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            ds.close();
            throw e;
        }
        return new Database(ds, url.startsWith("jdbc:postgresql:"));
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** Whether the database can be reached, as the server last saw it. */
    public DatabaseAvailability availability() {
        return availability;
    }

    /** Whether this is PostgreSQL (Quartz clusters there; H2 is single-node). */
    public boolean isPostgres() {
        return postgres;
    }

    @Override
    public void close() {
        availability.close();
        dataSource.close();
    }
}
