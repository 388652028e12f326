package dev.flywheel.server.training;

import dev.flywheel.server.http.Json;
import dev.flywheel.server.plugins.ExtensionGateway;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The configured GPU provisioners. A provisioner holds state about the jobs it runs, so runs with the same type and
 * settings share one instance; its work directory is stable, so a restarted server finds its jobs again.
 */
public final class Provisioners implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Provisioners.class);

    private final ExtensionGateway<GpuProvisionerFactory> gateway;
    private final Map<String, GpuProvisioner> instances = new ConcurrentHashMap<>();

    public Provisioners(ExtensionGateway<GpuProvisionerFactory> gateway) {
        this.gateway = gateway;
    }

    /**
     * Checks provisioner settings, answering 400 naming every wrong field.
     *
     * @param field the request field that names the provisioner; its settings are {@code <field>_config}
     * @return the settings normalised (defaults filled in)
     */
    public Map<String, Object> validate(String type, Map<String, ?> config, String field) {
        return gateway.validate(type, config, field, field + "_config").asMap();
    }

    /**
     * The settings schema of that provisioner type.
     *
     * @param field names the setting in the error when no such provisioner is installed
     */
    public ConfigSchema schema(String type, String field) {
        return gateway.schema(gateway.require(type, field));
    }

    /** The schema of that type if it is installed, to mask its secret settings. */
    public Optional<ConfigSchema> schemaIfInstalled(String type) {
        return gateway.find(type).map(gateway::schema);
    }

    /** The instance for that type and settings, created on first use. */
    public GpuProvisioner get(String type, Map<String, Object> config) {
        String key = type + " " + Json.write(config);
        return instances.computeIfAbsent(key, k -> {
            GpuProvisionerFactory factory = gateway.require(type, "provisioner");
            ExtensionConfig validated;
            try {
                validated = factory.configSchema().validate(config);
                factory.validate(validated);
            } catch (ConfigValidationException e) {
                throw new IllegalStateException("stored settings of provisioner " + type + " no longer fit it: "
                        + e.getMessage(), e);
            }
            return factory.create(validated, gateway.context(type));
        });
    }

    /** Releases the provisioners; their jobs keep running (a restarted server re-attaches them). */
    @Override
    public void close() {
        instances.values().forEach(p -> {
            try {
                p.close();
            } catch (RuntimeException e) {
                LOG.warn("provisioner did not close cleanly: {}", e.toString());
            }
        });
        instances.clear();
    }
}
