package dev.flywheel.server.promotion;

import java.time.Instant;
import java.util.Map;

/**
 * Why the last candidate was turned away, kept after the version is gone from the deployment.
 *
 * @param modelVersionId the candidate
 * @param verdict {@code REJECT} (by the promoter, while it was the shadow) or {@code ROLLED_BACK} (by the bake watch,
 *     after its automatic promotion)
 * @param reason the sentence, with the numbers
 * @param evidence every number behind it
 * @param at when
 */
public record Rejection(String modelVersionId, Verdict verdict, String reason, Map<String, Object> evidence,
        Instant at) {

    /** How a candidate was turned away. */
    public enum Verdict { REJECT, ROLLED_BACK }
}
