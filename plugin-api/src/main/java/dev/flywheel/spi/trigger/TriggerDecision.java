package dev.flywheel.spi.trigger;

import java.util.Map;

/**
 * The outcome of a trigger evaluation.
 *
 * @param fire whether to start a training run
 * @param reason one sentence for people, such as "1000 reviewed predictions since the last run (threshold 1000)"
 * @param evidence the numbers behind it (statistic, threshold, window…), stored with the event and the run as
 *     JSON: use {@code null} for an undefined number rather than NaN or infinity
 */
public record TriggerDecision(boolean fire, String reason, Map<String, Object> evidence) {
    public TriggerDecision {
        evidence = evidence == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(evidence));
    }

    /** A decision to start a run. */
    public static TriggerDecision fire(String reason, Map<String, Object> evidence) {
        return new TriggerDecision(true, reason, evidence);
    }

    /** A decision not to start a run yet. */
    public static TriggerDecision hold(String reason, Map<String, Object> evidence) {
        return new TriggerDecision(false, reason, evidence);
    }
}
