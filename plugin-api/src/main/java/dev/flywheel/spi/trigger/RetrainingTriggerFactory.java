package dev.flywheel.spi.trigger;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ExtensionConfig;

/** Extension point for retraining triggers: conditions that start a training run when they hold. */
public interface RetrainingTriggerFactory extends ExtensionFactory {

    /**
     * Creates a trigger configured for one deployment.
     *
     * @param config the validated configuration
     * @param context host services
     */
    RetrainingTrigger create(ExtensionConfig config, ExtensionContext context);
}
