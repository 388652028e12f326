package dev.flywheel.plugins.trigger.reviewthreshold;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import dev.flywheel.spi.trigger.TriggerDecision;
import java.util.LinkedHashMap;
import org.pf4j.Extension;

/**
 * Fires when the number of reviewed (accepted or corrected) predictions since the last training run reaches a
 * threshold: the product page's {@code trigger_threshold}.
 */
@Extension
public class ReviewThresholdTriggerFactory implements RetrainingTriggerFactory {

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder("threshold", ConfigKind.INTEGER)
                    .defaultValue(1000L)
                    .minimum(1)
                    .description("Reviewed predictions since the last training run that start a new run.")
                    .build());

    @Override
    public String type() {
        return "review-threshold";
    }

    @Override
    public String displayName() {
        return "Reviewed-count threshold";
    }

    @Override
    public String description() {
        return "Starts retraining once enough predictions have been reviewed since the last run.";
    }

    @Override
    public ConfigSchema configSchema() {
        return SCHEMA;
    }

    @Override
    public RetrainingTrigger create(ExtensionConfig config, ExtensionContext context) {
        long threshold = config.integer("threshold").orElseThrow();
        return ctx -> {
            long reviewed = ctx.reviewedSinceLastRun();
            var evidence = new LinkedHashMap<String, Object>();
            evidence.put("reviewed_since_last_run", reviewed);
            evidence.put("threshold", threshold);
            ctx.lastRunAt().ifPresent(t -> evidence.put("last_run_at", t.toString()));
            if (reviewed >= threshold) {
                return TriggerDecision.fire(
                        reviewed + " reviewed predictions since the last run (threshold " + threshold + ")", evidence);
            }
            return TriggerDecision.hold(
                    reviewed + " of " + threshold + " reviewed predictions since the last run", evidence);
        };
    }
}
