package dev.flywheel.spi.runtime;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ExtensionConfig;

/**
 * Extension point for model runtimes: what loads a model artifact and runs inference on it (and, optionally,
 * trains new versions of it).
 */
public interface ModelRuntimeFactory extends ExtensionFactory {

    /**
     * Creates the runtime. The server creates one per factory, lazily (when a model of one of its formats is first
     * uploaded or served), with the defaults of {@link #configSchema()}: runtimes have no per-deployment settings yet,
     * so a schema only documents those defaults. The runtime lives until the server stops, when
     * {@link ModelRuntime#close()} is called; libtorch-like natives cannot be unloaded, so disabling the plugin takes
     * effect at the next start.
     *
     * @param config the validated configuration
     * @param context host services
     */
    ModelRuntime create(ExtensionConfig config, ExtensionContext context);
}
