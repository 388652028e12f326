package dev.flywheel.server.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What a server has stored, for tests that prove a request changed nothing: the rows of every table of the server's
 * own schema (not Quartz's, whose rows move on their own) and the files under its data directory's {@code blobs/}
 * and plugins directory. Read straight from the database and the disk, not through the API.
 */
public final class StoredState {

    private StoredState() {}

    /** Table name to row count, plus {@code files:blobs} and {@code files:plugins}. */
    public static Map<String, Long> of(TestDatabase db, Path dataDir, Path pluginsDir) {
        var counts = new TreeMap<String, Long>();
        try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
            try (ResultSet tables = c.getMetaData().getTables(null, c.getSchema(), "%", new String[] {"TABLE"})) {
                while (tables.next()) {
                    String name = tables.getString("TABLE_NAME");
                    if (name.toLowerCase().startsWith("qrtz_") || name.equalsIgnoreCase("flyway_schema_history")) {
                        continue;
                    }
                    try (ResultSet n = c.createStatement().executeQuery("SELECT COUNT(*) FROM " + name)) {
                        n.next();
                        counts.put(name.toLowerCase(), n.getLong(1));
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot count the stored rows: " + e.getMessage(), e);
        }
        counts.put("files:blobs", files(dataDir.resolve("blobs")));
        counts.put("files:plugins", files(pluginsDir));
        return counts;
    }

    private static long files(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> !Files.isDirectory(p)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
