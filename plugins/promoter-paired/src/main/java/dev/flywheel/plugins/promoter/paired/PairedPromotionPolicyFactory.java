package dev.flywheel.plugins.promoter.paired;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.promotion.PromotionPolicy;
import dev.flywheel.spi.promotion.PromotionPolicyFactory;
import org.pf4j.Extension;

/**
 * Promotes a shadow model when predictions that both models made and a person has since reviewed show the
 * shadow more accurate by a threshold, McNemar's exact test says the difference is not chance, and the shadow
 * stays within its error-rate and latency guardrails (latency measured like for like: both models' forward
 * passes timed back to back on the same inputs): the product page's {@code promotion_threshold} and
 * {@code min_samples}.
 */
@Extension
public class PairedPromotionPolicyFactory implements PromotionPolicyFactory {

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder("promotion_threshold", ConfigKind.NUMBER)
                    .defaultValue(0.05)
                    .minimum(0)
                    .description("The accuracy gain the shadow must show over the primary: 0.05 is five "
                            + "percentage points (absolute) or 5% of the primary's accuracy (relative).")
                    .build(),
            ConfigProperty.builder("threshold_mode", ConfigKind.ENUM)
                    .defaultValue("absolute")
                    .allowedValues("absolute", "relative")
                    .description("absolute: gain = shadow accuracy - primary accuracy; relative: that gain "
                            + "divided by the primary's accuracy.")
                    .build(),
            ConfigProperty.builder("min_samples", ConfigKind.INTEGER)
                    .defaultValue(1000L)
                    .minimum(1)
                    .description("Paired reviewed predictions needed before any promotion or rejection on "
                            + "accuracy.")
                    .build(),
            ConfigProperty.builder("significance", ConfigKind.NUMBER)
                    .defaultValue(0.05)
                    .minimum(0)
                    .maximum(1)
                    .description("The McNemar exact test's two-sided p-value must fall below this for a "
                            + "promotion (or a rejection as worse).")
                    .build(),
            ConfigProperty.builder("max_shadow_error_rate", ConfigKind.NUMBER)
                    .defaultValue(0.01)
                    .minimum(0)
                    .maximum(1)
                    .description("Guardrail: the share of shadow predictions that may fail. Above it beyond "
                            + "chance (the 95% interval's lower bound) the shadow is rejected; above it by what could "
                            + "be chance, the promotion waits for more requests.")
                    .build(),
            ConfigProperty.builder("max_latency_ratio", ConfigKind.NUMBER)
                    .defaultValue(2.0)
                    .minimum(0)
                    .description("Guardrail: the shadow's forward pass may take at most this multiple of the "
                            + "primary's, both timed back to back on the same inputs (the median ratio). Above it "
                            + "beyond chance the shadow is rejected; otherwise a breach waits for more passes.")
                    .build(),
            ConfigProperty.builder("latency_min_pairs", ConfigKind.INTEGER)
                    .defaultValue(20L)
                    .minimum(5)
                    .description("Back-to-back pass pairs the server must have timed before the latency "
                            + "guardrail is judged; no promotion before that.")
                    .build(),
            ConfigProperty.builder("guardrail_min_requests", ConfigKind.INTEGER)
                    .defaultValue(100L)
                    .minimum(1)
                    .description("Shadow requests needed before the error-rate guardrail is judged, so one "
                            + "early failure does not reject a shadow for good.")
                    .build(),
            ConfigProperty.builder("max_duration", ConfigKind.DURATION)
                    .defaultValue("14d")
                    .description("A shadow still undecided after this long is rejected, so it does not run "
                            + "(and cost) forever.")
                    .build());

    @Override
    public String type() {
        return "paired";
    }

    @Override
    public String displayName() {
        return "Paired comparison (McNemar)";
    }

    @Override
    public String description() {
        return "Promotes the shadow when reviewed predictions both models made show it more accurate by the "
                + "threshold, significantly (McNemar's exact test), within error and latency guardrails.";
    }

    @Override
    public ConfigSchema configSchema() {
        return SCHEMA;
    }

    @Override
    public PromotionPolicy create(ExtensionConfig config, ExtensionContext context) {
        return new PairedPromotionPolicy(new PairedPromotionPolicy.Settings(
                config.number("promotion_threshold").orElseThrow(),
                "relative".equals(config.string("threshold_mode").orElseThrow()),
                config.integer("min_samples").orElseThrow(),
                config.number("significance").orElseThrow(),
                config.number("max_shadow_error_rate").orElseThrow(),
                config.number("max_latency_ratio").orElseThrow(),
                config.integer("guardrail_min_requests").orElseThrow(),
                config.integer("latency_min_pairs").orElseThrow(),
                config.duration("max_duration").orElseThrow()));
    }
}
