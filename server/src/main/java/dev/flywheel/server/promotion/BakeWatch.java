package dev.flywheel.server.promotion;

import dev.flywheel.server.serving.ModelFailures;
import dev.flywheel.spi.promotion.LatencyProbe;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Judges a primary on probation after an automatic promotion against the primary it replaced, the way SageMaker's
 * deployment guardrails and Argo Rollouts' analysis do, and says when to roll back. Each check compares like with
 * like:
 * <ul>
 *   <li><b>errors</b>: the share of requests the new primary failed since its promotion, against the previous primary's
 *       share over the same length of time before it; a breach needs the lower bound of the new rate's 95% interval
 *       above the old rate plus {@code max_error_rate_increase};
 *   <li><b>latency</b>: both versions' forward passes timed back to back on the same inputs ({@link LatencyProbes});
 *       a breach needs the lower bound of the median ratio's 95% interval above {@code max_latency_ratio};
 *   <li><b>accuracy</b>: reviewed predictions of the new primary since its promotion, against the previous primary's
 *       most recently reviewed ones from before it (the most recent are the most like today's traffic); a breach
 *       needs the drop to exceed {@code max_accuracy_drop} significantly (one-sided, {@code significance}).
 * </ul>
 * A check without enough data is reported as not judged, never as a breach: a bake that ends with too few reviews
 * passes, and says so.
 */
public final class BakeWatch {

    /** Rows made this recently may not be committed yet (group commit; async capture): counted on a later check. */
    static final Duration COMMIT_LAG = Duration.ofSeconds(5);
    /** How many of the previous primary's last reviewed predictions make its accuracy record. */
    static final int RECORD_REVIEWS = 500;

    private final BakeStore store;
    private final ModelFailures failures;
    private final LatencyProbes probes;
    private final Clock clock;

    public BakeWatch(BakeStore store, ModelFailures failures, LatencyProbes probes, Clock clock) {
        this.store = store;
        this.failures = failures;
        this.probes = probes;
        this.clock = clock;
    }

    /**
     * A new watch over {@code primary}, which just replaced {@code previous}: the previous primary's error record over
     * the bake period's length before now is taken here, once.
     */
    Bake start(String deploymentId, String primary, String previous, RollbackSettings s) {
        Instant now = clock.instant();
        Instant from = now.minus(s.bakePeriod());
        long served = store.served(deploymentId, previous, from, now);
        long failed = failures.count(deploymentId, previous, from, now);
        var checks = new LinkedHashMap<String, Object>();
        checks.put("previous_requests", served + failed);
        checks.put("previous_failures", failed);
        return new Bake(primary, previous, now, now.plus(s.bakePeriod()), Bake.BAKING, "Watching version " + primary
                + " for " + human(s.bakePeriod()) + " against " + previous + ": errors, forward-pass time and "
                + "accuracy on reviewed predictions.", checks, now, 0, now);
    }

    /**
     * Checks a bake under way.
     *
     * @return the bake as it stands: still {@code baking}, {@code passed} at its end, or {@code rolled_back} when a
     *     breach means the previous primary must be restored (which the caller does)
     */
    Bake check(String deploymentId, Bake b, RollbackSettings s) {
        Instant now = clock.instant();
        Instant countedUntil = now.minus(COMMIT_LAG);
        if (countedUntil.isBefore(b.servedCountedUntil())) {
            countedUntil = b.servedCountedUntil();
        }
        long served = b.served() + store.served(deploymentId, b.modelVersionId(), b.servedCountedUntil(), countedUntil);
        long failed = failures.count(deploymentId, b.modelVersionId(), b.startedAt(), now.plusSeconds(60));
        var record = new Record(served + failed, failed, number(b.checks().get("previous_requests")),
                number(b.checks().get("previous_failures")),
                probes.measure(deploymentId, b.previousModelVersionId(), b.modelVersionId()),
                store.reviewed(deploymentId, b.modelVersionId(), b.startedAt(), now.plusSeconds(1), Integer.MAX_VALUE),
                store.reviewed(deploymentId, b.previousModelVersionId(), Instant.EPOCH, b.startedAt(), RECORD_REVIEWS));
        Verdict v = judge(record, s, !now.isBefore(b.endsAt()), Duration.between(b.startedAt(), b.endsAt()));
        return b.with(v.status(), v.reason(), v.checks(), countedUntil, served, now);
    }

    /**
     * What a check knows of the two primaries.
     *
     * @param requests requests to the new primary since its promotion
     * @param failures of those, how many it failed
     * @param previousRequests requests to the previous primary over the bake period's length before the promotion
     * @param previousFailures of those, how many it failed
     * @param probe both versions' passes timed back to back (baseline: the previous primary)
     * @param reviewed the new primary's reviewed predictions since its promotion
     * @param previousReviewed the previous primary's most recently reviewed predictions from before it
     */
    record Record(long requests, long failures, long previousRequests, long previousFailures, LatencyProbe probe,
            BakeStore.Reviewed reviewed, BakeStore.Reviewed previousReviewed) {}

    /**
     * The outcome of one check.
     *
     * @param status {@code baking}, {@code passed} or {@code rolled_back}
     * @param reason one sentence with the numbers
     * @param checks every number, and which checks were judged
     */
    record Verdict(String status, String reason, Map<String, Object> checks) {}

    /** Judges a record: a pure function of its arguments, so that each rule is tested on its own. */
    static Verdict judge(Record r, RollbackSettings s, boolean periodOver, Duration period) {
        double previousRate = r.previousRequests() == 0 ? 0 : (double) r.previousFailures() / r.previousRequests();
        var checks = new LinkedHashMap<String, Object>();
        checks.put("previous_requests", r.previousRequests());
        checks.put("previous_failures", r.previousFailures());
        checks.put("previous_error_rate", previousRate);
        checks.put("requests", r.requests());
        checks.put("failures", r.failures());
        List<String> breaches = new ArrayList<>();
        List<String> held = new ArrayList<>();

        boolean errorsJudged = r.requests() >= s.minRequests();
        checks.put("errors_judged", errorsJudged);
        if (r.requests() > 0) {
            double rate = (double) r.failures() / r.requests();
            double[] ci = Statistics.wilson(r.failures(), r.requests(), Statistics.Z95);
            checks.put("error_rate", rate);
            checks.put("error_rate_ci95", List.of(ci[0], ci[1]));
            String sentence = String.format(Locale.ROOT, "error rate %s (%d of %d requests failed, 95%% interval from "
                    + "%s) against %s before the promotion", pct(rate), r.failures(), r.requests(), pct(ci[0]),
                    pct(previousRate));
            if (errorsJudged && ci[0] > previousRate + s.maxErrorRateIncrease()) {
                breaches.add(sentence + ", more than " + pct(s.maxErrorRateIncrease()) + " higher");
            } else {
                held.add(sentence);
            }
        }

        LatencyProbe probe = r.probe();
        boolean latencyJudged = probe.pairs() >= RollbackSettings.LATENCY_MIN_PAIRS;
        checks.put("latency_judged", latencyJudged);
        checks.put("latency_probe_pairs", probe.pairs());
        checks.put("latency_ratio", finite(probe.medianRatio()));
        checks.put("latency_ratio_ci95", Double.isFinite(probe.ratioCi95Low())
                ? List.of(probe.ratioCi95Low(), probe.ratioCi95High()) : null);
        if (latencyJudged) {
            String sentence = String.format(Locale.ROOT, "forward pass %.2fx the previous primary's (median of %d "
                    + "back-to-back passes, 95%% interval from %.2fx)", probe.medianRatio(), probe.pairs(),
                    probe.ratioCi95Low());
            if (probe.ratioCi95Low() > s.maxLatencyRatio()) {
                breaches.add(sentence + ", above " + plain(s.maxLatencyRatio()) + "x");
            } else {
                held.add(sentence);
            }
        }

        BakeStore.Reviewed after = r.reviewed();
        BakeStore.Reviewed before = r.previousReviewed();
        boolean accuracyJudged = after.n() >= s.minSamples() && before.n() >= s.minSamples();
        checks.put("accuracy_judged", accuracyJudged);
        checks.put("reviewed", after.n());
        checks.put("accuracy", finite(after.accuracy()));
        checks.put("previous_reviewed", before.n());
        checks.put("previous_accuracy", finite(before.accuracy()));
        if (after.n() > 0 && before.n() > 0) {
            double p = Statistics.dropBeyondToleranceP(after.correct(), after.n(), before.correct(), before.n(),
                    s.maxAccuracyDrop());
            checks.put("accuracy_drop_p_value", p);
            String sentence = String.format(Locale.ROOT, "accuracy %.3f on %d reviewed predictions against %.3f on "
                    + "the previous primary's last %d", after.accuracy(), after.n(), before.accuracy(), before.n());
            if (accuracyJudged && p < s.significance()) {
                breaches.add(sentence + String.format(Locale.ROOT, ", more than %s lower (p=%.2g)",
                        plain(s.maxAccuracyDrop()), p));
            } else {
                held.add(sentence);
            }
        }
        if (!accuracyJudged) {
            held.add("accuracy not judged yet (" + after.n() + " and " + before.n() + " of " + s.minSamples()
                    + " reviewed predictions)");
        }
        checks.put("breaches", breaches);

        if (!breaches.isEmpty()) {
            return new Verdict(Bake.ROLLED_BACK, "Breach during the bake: " + String.join("; ", breaches) + ".",
                    checks);
        }
        if (periodOver) {
            return new Verdict(Bake.PASSED, "No breach in " + human(period) + ": " + String.join("; ", held) + ".",
                    checks);
        }
        return new Verdict(Bake.BAKING, "No breach so far: " + String.join("; ", held) + ".", checks);
    }

    private static long number(Object value) {
        return value instanceof Number n ? n.longValue() : 0;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static String pct(double share) {
        return String.format(Locale.ROOT, "%.2f%%", share * 100);
    }

    private static String plain(double value) {
        return java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    static String human(Duration d) {
        if (d.toDays() > 0 && d.equals(Duration.ofDays(d.toDays()))) {
            return d.toDays() + "d";
        }
        if (d.toHours() > 0 && d.equals(Duration.ofHours(d.toHours()))) {
            return d.toHours() + "h";
        }
        if (d.toMinutes() > 0 && d.equals(Duration.ofMinutes(d.toMinutes()))) {
            return d.toMinutes() + "m";
        }
        return d.toSeconds() + "s";
    }
}
