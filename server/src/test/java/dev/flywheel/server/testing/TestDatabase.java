package dev.flywheel.server.testing;

import dev.flywheel.server.persistence.Database;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.UUID;

/**
 * A fresh, empty database for one test class: an H2 file in a temporary directory, or a new schema in the
 * PostgreSQL at {@code FLYWHEEL_TEST_PG_URL} (default {@code jdbc:postgresql://127.0.0.1:5432/test}, user
 * {@code postgres}).
 *
 * <p>PostgreSQL tests must not pass by not running: when PostgreSQL is unreachable they are skipped on a developer
 * machine but fail under CI ({@code CI=true}).
 */
public final class TestDatabase implements AutoCloseable {

    /** Which backend. */
    public enum Kind { H2, POSTGRES }

    public static final String PG_URL = env("FLYWHEEL_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    public static final String PG_USER = env("FLYWHEEL_TEST_PG_USER", "postgres");
    public static final String PG_PASSWORD = env("FLYWHEEL_TEST_PG_PASSWORD", "");

    private final Kind kind;
    private final String url;
    private final String schema;

    private TestDatabase(Kind kind, String url, String schema) {
        this.kind = kind;
        this.url = url;
        this.schema = schema;
    }

    /** A new database of that kind; {@code dir} holds H2's file. */
    public static TestDatabase create(Kind kind, Path dir) {
        if (kind == Kind.H2) {
            return new TestDatabase(kind, Database.h2FileUrl(dir.resolve("db-" + UUID.randomUUID())), null);
        }
        requirePostgres();
        String schema = "fw_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        try (Connection c = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD)) {
            c.createStatement().execute("CREATE SCHEMA " + schema);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create schema in " + PG_URL + ": " + e.getMessage(), e);
        }
        String sep = PG_URL.contains("?") ? "&" : "?";
        return new TestDatabase(kind, PG_URL + sep + "currentSchema=" + schema, schema);
    }

    /**
     * Skips the calling test when PostgreSQL cannot be reached, except under CI, where that is a failure.
     */
    public static void requirePostgres() {
        try (Connection c = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD)) {
            c.isValid(2);
        } catch (SQLException e) {
            String msg = "PostgreSQL is not reachable at " + PG_URL + " as " + PG_USER + ": " + e.getMessage();
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException(msg + " (CI=true: PostgreSQL tests must run; start it with "
                        + "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start')");
            }
            org.junit.jupiter.api.Assumptions.abort(msg + " (skipped outside CI)");
        }
    }

    public Kind kind() {
        return kind;
    }

    public String url() {
        return url;
    }

    /** PostgreSQL's host and port, as {@code FLYWHEEL_TEST_PG_URL} names them. */
    public static java.net.InetSocketAddress postgresAddress() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^jdbc:postgresql://([^/:?]+)(?::(\\d+))?/")
                .matcher(PG_URL);
        if (!m.find()) {
            throw new IllegalStateException("cannot read host and port from " + PG_URL);
        }
        return java.net.InetSocketAddress.createUnresolved(m.group(1), m.group(2) == null ? 5432
                : Integer.parseInt(m.group(2)));
    }

    /** This PostgreSQL database's URL through another address (a proxy on 127.0.0.1 at that port). */
    public String urlThrough(int port) {
        if (kind != Kind.POSTGRES) {
            throw new IllegalStateException("only PostgreSQL is reached over the network");
        }
        return url.replaceFirst("^jdbc:postgresql://[^/?]+/", "jdbc:postgresql://127.0.0.1:" + port + "/");
    }

    public String user() {
        return kind == Kind.POSTGRES ? PG_USER : null;
    }

    public String password() {
        return kind == Kind.POSTGRES ? PG_PASSWORD : null;
    }

    @Override
    public void close() {
        if (schema != null) {
            try (Connection c = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD)) {
                c.createStatement().execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            } catch (SQLException e) {
                // a leftover test schema is harmless
            }
        }
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : v;
    }
}
