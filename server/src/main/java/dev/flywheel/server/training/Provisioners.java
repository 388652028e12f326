package dev.flywheel.server.training;

import dev.flywheel.server.ServerVersion;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.http.Json;
import dev.flywheel.server.plugins.HostExtensionContext;
import dev.flywheel.server.plugins.PluginHost;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.provisioner.GpuProvisioner;
import dev.flywheel.spi.provisioner.GpuProvisionerFactory;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The configured GPU provisioners. A provisioner holds state about the jobs it runs, so runs with the same type and
 * settings share one instance; its work directory is stable, so a restarted server finds its jobs again.
 */
public final class Provisioners implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Provisioners.class);

    private final PluginHost plugins;
    private final Path workRoot;
    private final Clock clock;
    private final Map<String, GpuProvisioner> instances = new ConcurrentHashMap<>();

    public Provisioners(PluginHost plugins, Path workRoot, Clock clock) {
        this.plugins = plugins;
        this.workRoot = workRoot;
        this.clock = clock;
    }

    /**
     * Checks provisioner settings, answering 400 naming the field.
     *
     * @return the settings normalised (defaults filled in)
     */
    public Map<String, Object> validate(String type, Map<String, ?> config, String field) {
        GpuProvisionerFactory factory = factory(type, field);
        try {
            return factory.configSchema().validate(config).asMap();
        } catch (ConfigValidationException e) {
            var first = e.errors().get(0);
            throw ApiException.badRequest("invalid_field", field + "_config." + first.field() + ": " + first.message());
        }
    }

    /**
     * The settings schema of that provisioner type.
     *
     * @param field names the setting in the error when no such provisioner is installed
     */
    public dev.flywheel.spi.config.ConfigSchema schema(String type, String field) {
        return factory(type, field).configSchema();
    }

    /** The instance for that type and settings, created on first use. */
    public GpuProvisioner get(String type, Map<String, Object> config) {
        String key = type + " " + Json.write(config);
        return instances.computeIfAbsent(key, k -> {
            GpuProvisionerFactory factory = factory(type, "provisioner");
            ExtensionConfig validated;
            try {
                validated = factory.configSchema().validate(config);
            } catch (ConfigValidationException e) {
                throw new IllegalStateException("stored settings of provisioner " + type + " no longer fit it: "
                        + e.getMessage(), e);
            }
            return factory.create(validated, new HostExtensionContext("gpu_provisioner." + type,
                    workRoot.resolve(type), clock, ServerVersion.SERVER));
        });
    }

    private GpuProvisionerFactory factory(String type, String field) {
        return plugins.factory(GpuProvisionerFactory.class, type).orElseThrow(() -> ApiException.badRequest(
                "invalid_field", field + ": no GPU provisioner of type '" + type + "' is installed; installed: "
                        + plugins.factories(GpuProvisionerFactory.class).stream().map(f -> f.type()).toList()));
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
