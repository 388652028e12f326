package dev.flywheel.server.serving;

import dev.flywheel.server.events.EventService;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.plugins.ExtensionGateway;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.runtime.InvalidModelException;
import dev.flywheel.spi.runtime.LoadedModel;
import dev.flywheel.spi.runtime.ModelArtifact;
import dev.flywheel.spi.runtime.ModelRuntime;
import dev.flywheel.spi.runtime.ModelRuntimeFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model runtimes that started plugins provide, each created once with its default configuration and kept until
 * the server stops. Creation is lazy: the DJL runtime loads libtorch, which takes seconds and is only worth it once a
 * model is uploaded or served.
 *
 * <p>A runtime that cannot be created, or that throws anything but an {@link InvalidModelException} while loading,
 * is a failure of its plugin: an event records it and the caller gets a 502, while the server keeps serving.
 */
public final class ModelRuntimes implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelRuntimes.class);

    private final ExtensionGateway<ModelRuntimeFactory> gateway;
    private final EventService events;
    /** Keyed by plugin id and factory type: PF4J hands out a new factory object on every lookup. */
    private final Map<String, ModelRuntime> created = new LinkedHashMap<>();
    private final Map<String, String> failed = new HashMap<>();
    private boolean closed;

    /**
     * @param gateway where the runtime factories come from, and how runtimes are named and placed
     * @param events where plugin failures are recorded
     */
    public ModelRuntimes(ExtensionGateway<ModelRuntimeFactory> gateway, EventService events) {
        this.gateway = gateway;
        this.events = events;
    }

    /** Every format some runtime loads, sorted. */
    public synchronized Set<String> formats() {
        var out = new TreeSet<String>();
        for (var r : current().entrySet()) {
            out.addAll(formatsOf(r.getKey(), r.getValue()));
        }
        return out;
    }

    /** The runtime that loads that format, if a started plugin provides one. */
    public synchronized Optional<ModelRuntime> forFormat(String format) {
        for (var r : current().entrySet()) {
            if (formatsOf(r.getKey(), r.getValue()).contains(format)) {
                return Optional.of(r.getValue());
            }
        }
        return Optional.empty();
    }

    /**
     * Loads a model with the runtime of its format.
     *
     * @throws InvalidModelException when the runtime says the artifact is corrupt or does not fit its metadata
     * @throws ApiException 409 when no runtime loads the format, 502 when the runtime itself failed
     */
    public LoadedModel load(ModelArtifact artifact) throws InvalidModelException {
        String format = artifact.metadata().format();
        ModelRuntime runtime = forFormat(format).orElseThrow(() -> new ApiException(409, "no_runtime",
                "no started plugin provides a model runtime for the format '" + format + "'; formats available: "
                        + formats()));
        try {
            LoadedModel model = runtime.load(artifact);
            if (model == null) {
                throw new IllegalStateException("load returned null");
            }
            return model;
        } catch (InvalidModelException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw pluginFailed(runtime, "loading a " + format + " model", e);
        }
    }

    /** Records a failure of a runtime's plugin as an event and returns the 502 to answer with. */
    ApiException pluginFailed(Object extension, String doing, Throwable e) {
        String plugin = gateway.pluginOf(extension);
        String message = "plugin " + plugin + " failed " + doing + ": " + e;
        LOG.error("{}", message, e);
        events.event("model_runtime.failed", message).error().actor(plugin).subject("plugin", plugin)
                .data(Map.of("error", String.valueOf(e))).record();
        return new ApiException(502, "plugin_failed", "the model runtime (plugin " + plugin + ") failed " + doing
                + "; the error is recorded in the events");
    }

    private Map<String, ModelRuntime> current() {
        if (closed) {
            throw new ApiException(503, "shutting_down", "the server is shutting down");
        }
        var out = new LinkedHashMap<String, ModelRuntime>();
        for (ModelRuntimeFactory factory : gateway.factories()) {
            String plugin = gateway.pluginOf(factory);
            String type = ExtensionGateway.typeOf(factory);
            if (type == null) {
                continue;
            }
            String key = plugin + "/" + type;
            ModelRuntime runtime = created.get(key);
            if (runtime == null && !failed.containsKey(key)) {
                runtime = create(key, plugin, type, factory);
            }
            if (runtime != null) {
                out.put(key, runtime);
            }
        }
        return out;
    }

    private ModelRuntime create(String key, String plugin, String type, ModelRuntimeFactory factory) {
        try {
            var config = factory.configSchema().validate(Map.of());
            factory.validate(config);
            ModelRuntime runtime = factory.create(config, gateway.context(type));
            if (runtime == null) {
                throw new IllegalStateException("create returned null");
            }
            created.put(key, runtime);
            LOG.info("model runtime '{}' of plugin {} created; formats {}", type, plugin, formatsOf(key, runtime));
            return runtime;
        } catch (ConfigValidationException | RuntimeException | LinkageError e) {
            // Not retried until the next start: creating a runtime can take seconds, and would fail again.
            failed.put(key, String.valueOf(e));
            String message = "model runtime '" + type + "' of plugin " + plugin + " could not be created: " + e;
            LOG.error("{}", message, e);
            events.event("model_runtime.failed", message).error().actor(plugin).subject("plugin", plugin)
                    .data(Map.of("type", type, "error", String.valueOf(e))).record();
            return null;
        }
    }

    private Set<String> formatsOf(String key, ModelRuntime runtime) {
        try {
            Set<String> formats = runtime.formats();
            return formats == null ? Set.of() : formats;
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("model runtime {} cannot list its formats: {}", key, e.toString());
            return Set.of();
        }
    }

    /** Closes every runtime; the models they loaded are closed beforehand by {@link ModelCache}. */
    @Override
    public synchronized void close() {
        closed = true;
        List<Map.Entry<String, ModelRuntime>> all = new ArrayList<>(created.entrySet());
        created.clear();
        for (var r : all) {
            try {
                r.getValue().close();
            } catch (RuntimeException | LinkageError e) {
                LOG.warn("model runtime {} did not close cleanly: {}", r.getKey(), e.toString());
            }
        }
    }
}
