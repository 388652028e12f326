package dev.flywheel.testplugins;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import dev.flywheel.spi.trigger.TriggerDecision;
import java.util.Map;

/** Extensions with secret settings, for the tests that secrets are never shown and never lost on a second save. */
public final class SecretSettingsPlugins {

    private SecretSettingsPlugins() {}

    /** A provisioner that needs an API key; it is only configured in these tests, never asked to run a job. */
    public static class VaultProvisionerFactory implements GpuProvisionerFactory {
        @Override
        public String type() {
            return "vault-test";
        }

        @Override
        public ConfigSchema configSchema() {
            return ConfigSchema.of(
                    ConfigProperty.builder("api_key", ConfigKind.SECRET).required().description("the API key").build(),
                    ConfigProperty.builder("region", ConfigKind.STRING).defaultValue("eu").build());
        }

        @Override
        public GpuProvisioner create(ExtensionConfig config, ExtensionContext context) {
            throw new UnsupportedOperationException("vault-test never provisions");
        }
    }

    /** A trigger with an optional secret; it never fires. */
    public static class WebhookTriggerFactory implements RetrainingTriggerFactory {
        @Override
        public String type() {
            return "webhook-test";
        }

        @Override
        public ConfigSchema configSchema() {
            return ConfigSchema.of(ConfigProperty.builder("token", ConfigKind.SECRET).build(),
                    ConfigProperty.builder("url", ConfigKind.STRING).defaultValue("https://example.invalid").build());
        }

        @Override
        public RetrainingTrigger create(ExtensionConfig config, ExtensionContext context) {
            return c -> TriggerDecision.hold("never", Map.of());
        }
    }
}
