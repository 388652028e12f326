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
     * Creates a configured runtime. Called once per configured instance; the runtime lives until the server
     * stops or the plugin is disabled, when {@link ModelRuntime#close()} is called.
     *
     * @param config the validated configuration
     * @param context host services
     */
    ModelRuntime create(ExtensionConfig config, ExtensionContext context);
}
