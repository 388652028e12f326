package dev.flywheel.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerSettingsTest {

    @TempDir
    Path dir;

    @Test
    void defaultsNeedNoSetUp() {
        var s = ServerSettings.load(null, Map.of(), dir);
        assertThat(s.port()).isEqualTo(8080);
        assertThat(s.embeddedDatabase()).isTrue();
        assertThat(s.dataDir()).isEqualTo(Path.of(System.getProperty("user.home"), ".flywheel"));
        assertThat(s.pluginsDir()).isEqualTo(dir.resolve("plugins").toAbsolutePath());
        assertThat(s.adminToken()).isNull();
        assertThat(s.shadowIdlePriority()).isTrue();
    }

    @Test
    void shadowsMayRunAtNormalPriority() {
        assertThat(ServerSettings.load(null, Map.of("FLYWHEEL_SHADOW_PRIORITY", "normal"), dir).shadowIdlePriority())
                .isFalse();
        assertThat(ServerSettings.load(null, Map.of("FLYWHEEL_SHADOW_PRIORITY", "idle"), dir).shadowIdlePriority())
                .isTrue();
        assertThatThrownBy(() -> ServerSettings.load(null, Map.of("FLYWHEEL_SHADOW_PRIORITY", "low"), dir))
                .isInstanceOf(ServerSettings.InvalidSettingsException.class)
                .hasMessageContaining("FLYWHEEL_SHADOW_PRIORITY (or flywheel.shadow-priority) must be 'idle'");
    }

    @Test
    void environmentOverridesTheFile() throws Exception {
        Path file = dir.resolve("flywheel.properties");
        Files.writeString(file, "flywheel.port=9000\nflywheel.data-dir=/tmp/from-file\n");
        var s = ServerSettings.load(file, Map.of("FLYWHEEL_PORT", "9100",
                "FLYWHEEL_DB_URL", "jdbc:postgresql://db:5432/flywheel"), dir);
        assertThat(s.port()).isEqualTo(9100);
        assertThat(s.dataDir()).isEqualTo(Path.of("/tmp/from-file"));
        assertThat(s.embeddedDatabase()).isFalse();
    }

    @Test
    void badSettingsAreAllNamedAtOnce() {
        assertThatThrownBy(() -> ServerSettings.load(null, Map.of("FLYWHEEL_PORT", "http",
                "FLYWHEEL_DB_URL", "mysql://x", "FLYWHEEL_ADMIN_TOKEN", "short"), dir))
                .isInstanceOf(ServerSettings.InvalidSettingsException.class)
                .hasMessageContaining("FLYWHEEL_PORT (or flywheel.port) must be a whole number between 0 and 65535, not 'http'")
                .hasMessageContaining("FLYWHEEL_DB_URL must be a PostgreSQL JDBC URL")
                .hasMessageContaining("FLYWHEEL_ADMIN_TOKEN must be at least 16 characters");
    }
}
