package dev.flywheel.server.promotion;

import dev.flywheel.spi.config.ConfigKind;
import dev.flywheel.spi.config.ConfigProperty;
import dev.flywheel.spi.config.ConfigSchema;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.config.ExtensionConfig;
import java.time.Duration;
import java.util.Map;

/**
 * Continuous deployment's automatic rollback: for {@code bake_period} after an automatic promotion (by the promoter or
 * the champion policy) the new primary is compared with the primary it replaced, and a breach restores that one. The
 * {@code rollback} object of {@code PUT …/continuous-deployment}; the core's own settings, not a promoter's.
 *
 * @param bakePeriod how long a new primary is watched; zero turns automatic rollback off
 * @param maxAccuracyDrop how much lower the new primary's accuracy on reviewed predictions may be than the previous
 *     primary's record before it is rolled back (absolute), when the drop beyond it is significant
 * @param minSamples reviewed predictions of the new primary (and of the previous one's record) before accuracy is
 *     judged
 * @param maxErrorRateIncrease how much higher the new primary's error rate may be than the previous primary's; judged
 *     on the lower bound of its 95% interval, so a few early failures do not roll back
 * @param minRequests requests to the new primary before its error rate is judged
 * @param maxLatencyRatio how many times the previous primary's forward-pass time the new primary's may take, both
 *     timed back to back on the same inputs; judged on the lower bound of the median ratio's 95% interval
 * @param significance the one-sided p-value below which an accuracy drop beyond {@code maxAccuracyDrop} counts
 */
public record RollbackSettings(Duration bakePeriod, double maxAccuracyDrop, long minSamples,
        double maxErrorRateIncrease, long minRequests, double maxLatencyRatio, double significance) {

    /** Back-to-back pass pairs before the latency is judged, as for the promoter's guardrail. */
    static final int LATENCY_MIN_PAIRS = 20;

    static final ConfigSchema SCHEMA = ConfigSchema.of(
            ConfigProperty.builder("bake_period", ConfigKind.DURATION)
                    .defaultValue("1h")
                    .description("How long a primary promoted automatically is watched and rolled back by itself "
                            + "on a breach; 0s turns automatic rollback off.")
                    .build(),
            ConfigProperty.builder("max_accuracy_drop", ConfigKind.NUMBER)
                    .defaultValue(0.05)
                    .minimum(0)
                    .maximum(1)
                    .description("Roll back when the new primary's accuracy on reviewed predictions is this much "
                            + "below the previous primary's record, significantly.")
                    .build(),
            ConfigProperty.builder("min_samples", ConfigKind.INTEGER)
                    .defaultValue(50L)
                    .minimum(1)
                    .description("Reviewed predictions of each primary before accuracy is judged.")
                    .build(),
            ConfigProperty.builder("max_error_rate_increase", ConfigKind.NUMBER)
                    .defaultValue(0.01)
                    .minimum(0)
                    .maximum(1)
                    .description("Roll back when the new primary fails this much larger a share of requests than "
                            + "the previous primary did (the lower bound of its 95% interval).")
                    .build(),
            ConfigProperty.builder("min_requests", ConfigKind.INTEGER)
                    .defaultValue(100L)
                    .minimum(1)
                    .description("Requests to the new primary before its error rate is judged.")
                    .build(),
            ConfigProperty.builder("max_latency_ratio", ConfigKind.NUMBER)
                    .defaultValue(2.0)
                    .minimum(1)
                    .description("Roll back when the new primary's forward pass takes more than this multiple of "
                            + "the previous primary's, both timed back to back on the same inputs.")
                    .build(),
            ConfigProperty.builder("significance", ConfigKind.NUMBER)
                    .defaultValue(0.05)
                    .minimum(0)
                    .maximum(1)
                    .description("The one-sided p-value below which an accuracy drop beyond max_accuracy_drop "
                            + "counts.")
                    .build());

    /** The defaults. */
    public static RollbackSettings defaults() {
        return from(Map.of());
    }

    /**
     * Validated settings from a request's {@code rollback} object (or the stored one); absent fields take their
     * defaults.
     *
     * @throws ConfigValidationException naming every wrong field
     */
    public static RollbackSettings validate(Map<String, ?> raw) throws ConfigValidationException {
        return of(SCHEMA.validate(raw == null ? Map.of() : raw));
    }

    /** Settings read back from storage (validated when saved; fields added later take their defaults). */
    static RollbackSettings from(Map<String, ?> stored) {
        try {
            return validate(stored);
        } catch (ConfigValidationException e) {
            throw new IllegalStateException("stored rollback settings no longer validate: " + e.getMessage(), e);
        }
    }

    private static RollbackSettings of(ExtensionConfig c) {
        return new RollbackSettings(c.duration("bake_period").orElseThrow(), c.number("max_accuracy_drop").orElseThrow(),
                c.integer("min_samples").orElseThrow(), c.number("max_error_rate_increase").orElseThrow(),
                c.integer("min_requests").orElseThrow(), c.number("max_latency_ratio").orElseThrow(),
                c.number("significance").orElseThrow());
    }

    /** Whether a new primary is watched at all. */
    public boolean enabled() {
        return !bakePeriod.isZero();
    }

    /** As stored and shown by the API. */
    public Map<String, Object> asMap() {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("bake_period", bakePeriod.toString());
        m.put("max_accuracy_drop", maxAccuracyDrop);
        m.put("min_samples", minSamples);
        m.put("max_error_rate_increase", maxErrorRateIncrease);
        m.put("min_requests", minRequests);
        m.put("max_latency_ratio", maxLatencyRatio);
        m.put("significance", significance);
        return m;
    }
}
