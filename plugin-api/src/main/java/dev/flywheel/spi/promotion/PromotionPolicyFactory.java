package dev.flywheel.spi.promotion;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.ExtensionFactory;
import dev.flywheel.spi.config.ExtensionConfig;

/** Extension point for promotion policies ("promoters"): when a shadow model should replace the primary. */
public interface PromotionPolicyFactory extends ExtensionFactory {

    /**
     * Creates a policy configured for one deployment.
     *
     * @param config the validated configuration, such as {@code promotion_threshold} and {@code min_samples}
     * @param context host services
     */
    PromotionPolicy create(ExtensionConfig config, ExtensionContext context);
}
