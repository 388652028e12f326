package dev.flywheel.spi.promotion;

import java.util.Map;

/**
 * A promotion policy's verdict.
 *
 * @param verdict what to do
 * @param reason one sentence for people
 * @param evidence the numbers behind it (n, accuracies, p-value, thresholds), stored with the event
 */
public record PromotionDecision(Verdict verdict, String reason, Map<String, Object> evidence) {
    public PromotionDecision {
        java.util.Objects.requireNonNull(verdict, "verdict");
        evidence = evidence == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(evidence));
    }

    /** What a policy can decide. */
    public enum Verdict {
        /** Make the shadow the primary now. */
        PROMOTE,
        /** Not enough evidence yet; ask again later. */
        KEEP_WAITING,
        /** The shadow will not be promoted; remove it. */
        REJECT
    }
}
