package dev.flywheel.plugins.trigger.drift;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.RetrainingTriggerFactory;
import java.util.List;
import org.pf4j.Extension;

/**
 * Fires when recent traffic has drifted from the reference: the predicted-label mix (PSI) or any feature
 * (PSI on reference quantile bins, or a two-sample Kolmogorov–Smirnov test with a minimum effect size).
 * For image models the server supplies per-channel statistics as features, so the same tests apply.
 */
@Extension
public class DriftTriggerFactory implements RetrainingTriggerFactory {

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder("window_size", ConfigKind.INTEGER)
                    .defaultValue(500L)
                    .minimum(50)
                    .description("The most recent predictions compared with the reference.")
                    .build(),
            ConfigProperty.builder("min_window", ConfigKind.INTEGER)
                    .defaultValue(200L)
                    .minimum(30)
                    .description("Predictions (and reference items) needed before any decision; "
                            + "fewer make the statistics too noisy to act on.")
                    .build(),
            ConfigProperty.builder("label_psi_threshold", ConfigKind.NUMBER)
                    .defaultValue(0.25)
                    .minimum(0)
                    .description("PSI of the predicted-label mix above which the trigger fires "
                            + "(0.25 is the conventional 'significant shift').")
                    .build(),
            ConfigProperty.builder("feature_psi_threshold", ConfigKind.NUMBER)
                    .defaultValue(0.25)
                    .minimum(0)
                    .description("PSI of any one feature (10 quantile bins of the reference) above which "
                            + "the trigger fires.")
                    .build(),
            ConfigProperty.builder("ks_p_value", ConfigKind.NUMBER)
                    .defaultValue(0.0001)
                    .minimum(0)
                    .maximum(1)
                    .description("Kolmogorov-Smirnov p-value below which a feature counts as drifted; "
                            + "shared across features (Bonferroni), so it is the false-alarm rate of one "
                            + "evaluation.")
                    .build(),
            ConfigProperty.builder("ks_min_statistic", ConfigKind.NUMBER)
                    .defaultValue(0.1)
                    .minimum(0)
                    .maximum(1)
                    .description("The Kolmogorov-Smirnov distance D a feature must also reach, so that "
                            + "large windows do not fire on trivial differences.")
                    .build(),
            ConfigProperty.builder("reference_size", ConfigKind.INTEGER)
                    .defaultValue(2000L)
                    .minimum(50)
                    .description("The most reference items compared (from the reference dataset, or the "
                            + "primary's first traffic).")
                    .build());

    @Override
    public String type() {
        return "drift";
    }

    @Override
    public String displayName() {
        return "Distribution drift";
    }

    @Override
    public String description() {
        return "Starts retraining when recent traffic drifts from the reference data: PSI on the predicted "
                + "labels and on each feature, and a Kolmogorov-Smirnov test on each feature.";
    }

    @Override
    public ConfigSchema configSchema() {
        return SCHEMA;
    }

    /** {@code min_window} above {@code window_size} would make the trigger wait forever. */
    @Override
    public void validate(ExtensionConfig config) throws ConfigValidationException {
        long window = config.integer("window_size").orElseThrow();
        long min = config.integer("min_window").orElseThrow();
        if (min > window) {
            throw new ConfigValidationException(List.of(new ConfigValidationException.FieldError("min_window",
                    "must not exceed window_size (" + window + "), or the trigger would never decide")));
        }
    }

    @Override
    public RetrainingTrigger create(ExtensionConfig config, ExtensionContext context) {
        var settings = new DriftTrigger.Settings(
                Math.toIntExact(config.integer("window_size").orElseThrow()),
                Math.toIntExact(config.integer("min_window").orElseThrow()),
                config.number("label_psi_threshold").orElseThrow(),
                config.number("feature_psi_threshold").orElseThrow(),
                config.number("ks_p_value").orElseThrow(),
                config.number("ks_min_statistic").orElseThrow(),
                Math.toIntExact(config.integer("reference_size").orElseThrow()));
        return new DriftTrigger(settings);
    }
}
