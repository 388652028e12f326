package dev.flywheel.testplugins;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.promotion.PromotionPolicy;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import java.util.List;

/** Extensions that misbehave the same way every time they are called, for the tests of their containment. */
public final class BrokenExtensions {

    private BrokenExtensions() {}

    /** A trigger that throws on every evaluation, and whose settings have a rule across fields. */
    public static class BrokenTriggerFactory implements RetrainingTriggerFactory {

        @Override
        public String type() {
            return "broken";
        }

        @Override
        public ConfigSchema configSchema() {
            return ConfigSchema.of(
                    ConfigProperty.builder("low", ConfigKind.INTEGER).defaultValue(1L).description("lower").build(),
                    ConfigProperty.builder("high", ConfigKind.INTEGER).defaultValue(2L).description("upper").build());
        }

        @Override
        public void validate(ExtensionConfig config) throws ConfigValidationException {
            if (config.integer("low").orElseThrow() > config.integer("high").orElseThrow()) {
                throw new ConfigValidationException(List.of(
                        new ConfigValidationException.FieldError("low", "must not exceed high")));
            }
        }

        @Override
        public RetrainingTrigger create(ExtensionConfig config, ExtensionContext context) {
            return c -> {
                throw new IllegalStateException("the broken trigger broke");
            };
        }
    }

    /** A promoter that throws on every decision. */
    public static class BrokenPromoterFactory implements PromotionPolicyFactory {

        @Override
        public String type() {
            return "broken";
        }

        @Override
        public PromotionPolicy create(ExtensionConfig config, ExtensionContext context) {
            return c -> {
                throw new IllegalStateException("the broken promoter broke");
            };
        }
    }

    /** A factory that cannot even say its type: it must not hide the others. */
    public static class NamelessTriggerFactory implements RetrainingTriggerFactory {

        @Override
        public String type() {
            throw new IllegalStateException("no name");
        }

        @Override
        public RetrainingTrigger create(ExtensionConfig config, ExtensionContext context) {
            throw new UnsupportedOperationException();
        }
    }
}
