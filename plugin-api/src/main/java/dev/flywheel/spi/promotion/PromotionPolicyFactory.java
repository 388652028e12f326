package dev.flywheel.spi.promotion;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ExtensionConfig;

/** Extension point for promotion policies ("promoters"): when a shadow model should replace the primary. */
public interface PromotionPolicyFactory extends ExtensionFactory {

    /**
     * Creates a policy for one decision about a deployment's shadow. The server creates a new instance for every
     * decision (on the deployment's evaluation interval and right after reviews), from the stored settings, calls
     * {@link PromotionPolicy#decide} once on a thread of its own within a timeout, and drops it; so a policy holds no
     * state between decisions: everything it needs is in the {@link ShadowComparison}.
     *
     * @param config the validated configuration, such as {@code promotion_threshold} and {@code min_samples}
     * @param context host services
     */
    PromotionPolicy create(ExtensionConfig config, ExtensionContext context);
}
