package dev.flywheel.spi.trigger;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ExtensionConfig;

/** Extension point for retraining triggers: conditions that start a training run when they hold. */
public interface RetrainingTriggerFactory extends ExtensionFactory {

    /**
     * Creates a trigger for one evaluation of one of a deployment's triggers. The server creates a new instance for
     * every evaluation (periodically, and right after reviews), from the settings stored with the deployment, so a
     * changed setting or an upgraded plugin applies at the next one; an instance is used once, by one thread, and then
     * dropped. A trigger that must remember something between evaluations keeps it in its context's
     * {@link ExtensionContext#workDirectory()}; the {@link dev.flywheel.spi.trigger.TriggerContext} already says when
     * the trigger was last evaluated and when the last run started. Cross-field rules belong in {@link #validate},
     * which the server calls first.
     *
     * @param config the validated configuration
     * @param context host services
     */
    RetrainingTrigger create(ExtensionConfig config, ExtensionContext context);
}
