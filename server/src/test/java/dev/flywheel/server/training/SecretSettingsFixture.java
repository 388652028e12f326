package dev.flywheel.server.training;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.server.testing.TestDatabase;
import dev.flywheel.server.testing.TestPluginJars;
import dev.flywheel.testplugins.SecretSettingsPlugins;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;

/** What the API tests and the browser test of secret settings share: the plugin with secrets, and the stored row. */
public final class SecretSettingsFixture {

    private SecretSettingsFixture() {}

    /** Builds the test plugin whose provisioner ({@code vault-test}) and trigger ({@code webhook-test}) have secrets. */
    public static void installPlugin(Path pluginsDir) throws java.io.IOException {
        Files.createDirectories(pluginsDir);
        TestPluginJars.build(pluginsDir.resolve("secret-settings-1.0.0.jar"), "secret-settings", "1.0.0", ">=0.1.0",
                null, List.of(SecretSettingsPlugins.class, SecretSettingsPlugins.VaultProvisionerFactory.class,
                        SecretSettingsPlugins.WebhookTriggerFactory.class),
                List.of(SecretSettingsPlugins.VaultProvisionerFactory.class,
                        SecretSettingsPlugins.WebhookTriggerFactory.class));
    }

    /** A deployment's stored provisioner settings and triggers, as the database holds them (secrets in clear). */
    public static String stored(TestDatabase db, String deploymentId) {
        try (var c = DriverManager.getConnection(db.url(), db.user(), db.password());
                var s = c.prepareStatement("SELECT provisioner_config_json || ' ' || triggers_json FROM "
                        + "continuous_training WHERE deployment_id = ?")) {
            s.setString(1, deploymentId);
            try (var rs = s.executeQuery()) {
                assertThat(rs.next()).as("continuous training of " + deploymentId).isTrue();
                return rs.getString(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
