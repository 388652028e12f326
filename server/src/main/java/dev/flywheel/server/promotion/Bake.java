package dev.flywheel.server.promotion;

import java.time.Instant;
import java.util.Map;

/**
 * The watch over a primary that was promoted automatically: from {@code startedAt} to {@code endsAt} it is compared
 * with the primary it replaced, and rolled back by itself on a breach. A deployment keeps the one under way, or the
 * last one with its outcome.
 *
 * @param modelVersionId the new primary on probation
 * @param previousModelVersionId the primary it replaced, which a rollback restores
 * @param startedAt when it was promoted
 * @param endsAt when the watch ends
 * @param status {@code baking}, {@code passed} (no breach until {@code endsAt}), {@code rolled_back} (a breach restored
 *     the previous primary) or {@code ended} (the primary was changed by other means meanwhile, or continuous
 *     deployment was turned off)
 * @param reason one sentence on the last check: what was judged, with the numbers
 * @param checks the numbers of the last check: error rates, pass times, accuracies, and which were judged
 * @param servedCountedUntil predictions of the new primary made before this are counted in {@code served}
 * @param served how many predictions the new primary answered, up to {@code servedCountedUntil}
 * @param updatedAt when it was last checked
 */
public record Bake(String modelVersionId, String previousModelVersionId, Instant startedAt, Instant endsAt,
        String status, String reason, Map<String, Object> checks, Instant servedCountedUntil, long served,
        Instant updatedAt) {

    public static final String BAKING = "baking";
    public static final String PASSED = "passed";
    public static final String ROLLED_BACK = "rolled_back";
    public static final String ENDED = "ended";

    /** Whether the watch is still under way. */
    public boolean baking() {
        return BAKING.equals(status);
    }

    Bake with(String newStatus, String newReason, Map<String, Object> newChecks, Instant countedUntil, long newServed,
            Instant at) {
        return new Bake(modelVersionId, previousModelVersionId, startedAt, endsAt, newStatus, newReason, newChecks,
                countedUntil, newServed, at);
    }
}
