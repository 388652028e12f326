package dev.flywheel.testplugins;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.promotion.PromotionDecision;
import dev.flywheel.spi.promotion.PromotionPolicy;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import java.util.Map;

/**
 * A promotion policy for tests of the plugin manager (the real promoter plugin comes later): it promotes once the
 * shadow has been compared on enough samples.
 */
public class PatientPromotionPolicyFactory implements PromotionPolicyFactory {

    @Override
    public String type() {
        return "patient";
    }

    @Override
    public String description() {
        return "Promotes after a number of compared samples.";
    }

    @Override
    public ConfigSchema configSchema() {
        return ConfigSchema.of(ConfigProperty.builder("samples", ConfigKind.INTEGER).defaultValue(10L).minimum(1)
                .description("compared samples before promoting").build());
    }

    @Override
    public PromotionPolicy create(ExtensionConfig config, ExtensionContext context) {
        long samples = config.integer("samples").orElseThrow();
        return c -> c.samplesCompared() >= samples
                ? new PromotionDecision(PromotionDecision.Verdict.PROMOTE, "enough samples", Map.of("n", c.samplesCompared()))
                : new PromotionDecision(PromotionDecision.Verdict.KEEP_WAITING, "not enough samples", Map.of("n", c.samplesCompared()));
    }
}
