package dev.flywheel.server.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The server's settings, validated once at start. Each comes from, in order of precedence, an environment
 * variable ({@code FLYWHEEL_PORT}), the properties file ({@code flywheel.port} in {@code conf/flywheel.properties}),
 * or a default that makes {@code flywheel server} run with no set-up (H2 and files under {@code ~/.flywheel}).
 *
 * @param port the HTTP port; 0 picks a free one (tests)
 * @param host the address to bind, or {@code null} for all
 * @param dataDir where the H2 database, blobs and work dirs live
 * @param dbUrl a PostgreSQL JDBC URL, or {@code null} for embedded H2 in the data dir
 * @param dbUser the database user
 * @param dbPassword the database password
 * @param adminToken the secret of the first admin token, or {@code null} to generate one at first start
 * @param pluginsDir where plugin jars are loaded from
 * @param maxRequestBytes the largest request body accepted by ordinary routes
 * @param maxPluginBytes the largest plugin jar accepted by an upload
 * @param publicUrl the URL jobs and links use to reach this server, or {@code null} to derive it
 * @param triggerInterval how often the retraining triggers of active deployments are evaluated
 * @param supervisorInterval how often training runs are advanced (submitted, polled, their logs copied)
 * @param shadowIdlePriority whether shadow models run at the operating system's lowest CPU priority (the default),
 *     so that they never take CPU time from the primaries, or at normal priority, so that they keep up even on a
 *     machine the primaries keep busy
 * @param shadowBackfillPercent the most of one CPU (in percent) that the shadow backfill may use: it runs the shadow,
 *     at normal priority, on reviewed inputs the idle-priority shadow skipped, so that a busy machine still gathers
 *     the paired evidence a promotion needs; 0 turns it off
 */
public record ServerSettings(
        int port,
        String host,
        Path dataDir,
        String dbUrl,
        String dbUser,
        String dbPassword,
        String adminToken,
        Path pluginsDir,
        long maxRequestBytes,
        long maxPluginBytes,
        String publicUrl,
        java.time.Duration triggerInterval,
        java.time.Duration supervisorInterval,
        boolean shadowIdlePriority,
        int shadowBackfillPercent) {

    /** The settings with their names as variable and property, for errors and docs. */
    public enum Key {
        PORT("FLYWHEEL_PORT", "flywheel.port"),
        HOST("FLYWHEEL_HOST", "flywheel.host"),
        DATA_DIR("FLYWHEEL_DATA_DIR", "flywheel.data-dir"),
        DB_URL("FLYWHEEL_DB_URL", "flywheel.db.url"),
        DB_USER("FLYWHEEL_DB_USER", "flywheel.db.user"),
        DB_PASSWORD("FLYWHEEL_DB_PASSWORD", "flywheel.db.password"),
        ADMIN_TOKEN("FLYWHEEL_ADMIN_TOKEN", "flywheel.admin-token"),
        PLUGINS_DIR("FLYWHEEL_PLUGINS_DIR", "flywheel.plugins-dir"),
        MAX_REQUEST_BYTES("FLYWHEEL_MAX_REQUEST_BYTES", "flywheel.max-request-bytes"),
        MAX_PLUGIN_BYTES("FLYWHEEL_MAX_PLUGIN_BYTES", "flywheel.max-plugin-bytes"),
        PUBLIC_URL("FLYWHEEL_PUBLIC_URL", "flywheel.public-url"),
        TRIGGER_INTERVAL("FLYWHEEL_TRIGGER_INTERVAL", "flywheel.trigger-interval"),
        SUPERVISOR_INTERVAL("FLYWHEEL_SUPERVISOR_INTERVAL", "flywheel.supervisor-interval"),
        SHADOW_PRIORITY("FLYWHEEL_SHADOW_PRIORITY", "flywheel.shadow-priority"),
        SHADOW_BACKFILL_PERCENT("FLYWHEEL_SHADOW_BACKFILL_PERCENT", "flywheel.shadow-backfill-percent");

        public final String env;
        public final String property;

        Key(String env, String property) {
            this.env = env;
            this.property = property;
        }
    }

    /**
     * Reads the settings.
     *
     * @param propertiesFile the properties file, or {@code null}/missing for none
     * @param env the environment variables
     * @param home the directory the distribution lives in ({@code plugins/} defaults to there), or {@code null}
     * @throws InvalidSettingsException naming every wrong setting and how to fix it
     */
    public static ServerSettings load(Path propertiesFile, Map<String, String> env, Path home) {
        var props = new Properties();
        if (propertiesFile != null && Files.isRegularFile(propertiesFile)) {
            try (Reader r = Files.newBufferedReader(propertiesFile)) {
                props.load(r);
            } catch (IOException e) {
                throw new InvalidSettingsException(List.of("cannot read " + propertiesFile + ": " + e.getMessage()));
            }
        }
        var source = new Source(props, env);
        var errors = new ArrayList<String>();
        int port = (int) source.number(Key.PORT, 8080, 0, 65535, errors);
        Path dataDir = source.get(Key.DATA_DIR).map(Path::of)
                .orElse(Path.of(System.getProperty("user.home"), ".flywheel"));
        String dbUrl = source.get(Key.DB_URL).orElse(null);
        if (dbUrl != null && !dbUrl.startsWith("jdbc:postgresql:") && !dbUrl.startsWith("jdbc:h2:")) {
            errors.add(Key.DB_URL.env + " must be a PostgreSQL JDBC URL such as "
                    + "jdbc:postgresql://127.0.0.1:5432/flywheel (or unset for embedded H2), not '" + dbUrl + "'");
        }
        String adminToken = source.get(Key.ADMIN_TOKEN).orElse(null);
        if (adminToken != null && adminToken.length() < 16) {
            errors.add(Key.ADMIN_TOKEN.env + " must be at least 16 characters long");
        }
        Path pluginsDir = source.get(Key.PLUGINS_DIR).map(Path::of)
                .orElse(home != null ? home.resolve("plugins") : dataDir.resolve("plugins"));
        long maxRequest = source.number(Key.MAX_REQUEST_BYTES, 20L * 1024 * 1024, 1024, Long.MAX_VALUE, errors);
        long maxPlugin = source.number(Key.MAX_PLUGIN_BYTES, 1024L * 1024 * 1024, 1024, Long.MAX_VALUE, errors);
        java.time.Duration triggers = source.duration(Key.TRIGGER_INTERVAL, java.time.Duration.ofSeconds(60), errors);
        java.time.Duration supervisor = source.duration(Key.SUPERVISOR_INTERVAL, java.time.Duration.ofSeconds(5), errors);
        String shadowPriority = source.get(Key.SHADOW_PRIORITY).orElse("idle");
        if (!shadowPriority.equals("idle") && !shadowPriority.equals("normal")) {
            errors.add(Key.SHADOW_PRIORITY.env + " (or " + Key.SHADOW_PRIORITY.property
                    + ") must be 'idle' (shadows use only CPU time the primaries leave) or 'normal', not '"
                    + shadowPriority + "'");
        }
        int backfill = (int) source.number(Key.SHADOW_BACKFILL_PERCENT, 25, 0, 100, errors);
        if (!errors.isEmpty()) {
            throw new InvalidSettingsException(errors);
        }
        return new ServerSettings(port, source.get(Key.HOST).orElse(null), dataDir.toAbsolutePath(), dbUrl,
                source.get(Key.DB_USER).orElse(null), source.get(Key.DB_PASSWORD).orElse(null), adminToken,
                pluginsDir.toAbsolutePath(), maxRequest, maxPlugin, source.get(Key.PUBLIC_URL).orElse(null), triggers,
                supervisor, !shadowPriority.equals("normal"), backfill);
    }

    /** Whether the database is the embedded H2 one. */
    public boolean embeddedDatabase() {
        return dbUrl == null || dbUrl.startsWith("jdbc:h2:");
    }

    /** A copy with another port (tests and the demo pick a free one). */
    public ServerSettings withPort(int newPort) {
        return new ServerSettings(newPort, host, dataDir, dbUrl, dbUser, dbPassword, adminToken, pluginsDir,
                maxRequestBytes, maxPluginBytes, publicUrl, triggerInterval, supervisorInterval, shadowIdlePriority,
                shadowBackfillPercent);
    }

    /** A copy on another database URL (tests that put a proxy between the server and PostgreSQL). */
    public ServerSettings withDbUrl(String url) {
        return new ServerSettings(port, host, dataDir, url, dbUser, dbPassword, adminToken, pluginsDir,
                maxRequestBytes, maxPluginBytes, publicUrl, triggerInterval, supervisorInterval, shadowIdlePriority,
                shadowBackfillPercent);
    }

    /** A copy with other scheduling intervals (tests run the loop faster). */
    public ServerSettings withIntervals(java.time.Duration triggers, java.time.Duration supervisor) {
        return new ServerSettings(port, host, dataDir, dbUrl, dbUser, dbPassword, adminToken, pluginsDir,
                maxRequestBytes, maxPluginBytes, publicUrl, triggers, supervisor, shadowIdlePriority,
                shadowBackfillPercent);
    }

    private record Source(Properties props, Map<String, String> env) {
        Optional<String> get(Key key) {
            String v = env.get(key.env);
            if (v == null || v.isBlank()) {
                v = props.getProperty(key.property);
            }
            return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
        }

        java.time.Duration duration(Key key, java.time.Duration dflt, List<String> errors) {
            Optional<String> v = get(key);
            if (v.isEmpty()) {
                return dflt;
            }
            try {
                java.time.Duration d = dev.flywheel.spi.config.ConfigSchema.parseDuration(v.get());
                if (d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException("must be positive");
                }
                return d;
            } catch (IllegalArgumentException e) {
                errors.add(key.env + " (or " + key.property + ") must be a positive duration such as 30s or 5m, not '"
                        + v.get() + "'");
                return dflt;
            }
        }

        long number(Key key, long dflt, long min, long max, List<String> errors) {
            Optional<String> v = get(key);
            if (v.isEmpty()) {
                return dflt;
            }
            try {
                long n = Long.parseLong(v.get());
                if (n < min || n > max) {
                    throw new NumberFormatException();
                }
                return n;
            } catch (NumberFormatException e) {
                errors.add(key.env + " (or " + key.property + ") must be a whole number"
                        + (max == Long.MAX_VALUE ? " of at least " + min : " between " + min + " and " + max)
                        + ", not '" + v.get() + "'");
                return dflt;
            }
        }
    }

    /** Settings that cannot be used; the message lists what to set. */
    public static final class InvalidSettingsException extends RuntimeException {
        private final List<String> problems;

        public InvalidSettingsException(List<String> problems) {
            super("invalid settings:\n  - " + String.join("\n  - ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }
}
