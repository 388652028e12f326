package dev.flywheel.server.promotion;

import java.time.Instant;
import java.util.Map;

/**
 * The last decision about a deployment's shadow that was recorded, kept with continuous deployment so that an
 * unchanged {@code KEEP_WAITING} (or the same failure) on the next evaluation is not recorded again.
 *
 * @param verdict what was decided, or {@code FAILED} when the promoter gave no decision
 * @param reason the promoter's sentence, or why it failed
 * @param evidence the promoter's numbers; empty for a failure
 * @param signature what makes a decision new: see {@link DecisionLog#signature}
 * @param at when
 */
public record LastDecision(Verdict verdict, String reason, Map<String, Object> evidence, String signature,
        Instant at) {

    /** A promoter's verdicts, and the failure to give one. */
    public enum Verdict { PROMOTE, KEEP_WAITING, REJECT, FAILED }

    public LastDecision {
        evidence = evidence == null ? Map.of() : evidence;
    }
}
