package dev.flywheel.server.promotion;

import dev.flywheel.server.config.Durations;
import dev.flywheel.server.http.ApiException;
import dev.flywheel.server.serving.Deployment;
import dev.flywheel.server.serving.DeploymentService;
import dev.flywheel.spi.promotion.LatencyProbe;
import dev.flywheel.spi.promotion.ShadowComparison;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The live comparison of a deployment's primary and shadow on the same traffic, since the shadow was set: how often
 * they agree, and on the predictions a person has since reviewed, how accurate each is (with 95% Wilson intervals)
 * and whether the difference is chance (McNemar's exact test); their latencies, the shadow's errors and skips.
 */
public final class ComparisonService {

    public static final int DEFAULT_BUCKETS = 24;
    public static final int MAX_BUCKETS = 500;

    private final DeploymentService deployments;
    private final ComparisonStore store;
    private final LatencyProbes probes;
    private final Clock clock;

    /**
     * An accuracy with its 95% Wilson score interval.
     *
     * @param value correct / reviewed
     * @param ci95Low the interval's lower bound
     * @param ci95High its upper bound
     */
    public record Accuracy(double value, double ci95Low, double ci95High) {}

    /**
     * McNemar's exact test on the paired reviewed predictions.
     *
     * @param b only the primary right
     * @param c only the shadow right
     * @param pValue the exact two-sided p-value (1 when b + c = 0)
     */
    public record McNemar(long b, long c, double pValue) {}

    /**
     * Latency percentiles in milliseconds, over the inputs both models answered; {@code null} without any.
     *
     * @param p50 the median
     * @param p95 the 95th percentile
     */
    public record Latency(Double p50, Double p95) {}

    /**
     * Both models' forward passes timed back to back on the same inputs ({@link LatencyProbes}): the like-for-like
     * latency comparison that guardrails use. Numbers are {@code null} until measured.
     *
     * @param pairs inputs both were timed on
     * @param primaryMedianMs the primary's median pass time
     * @param shadowMedianMs the shadow's median pass time
     * @param medianRatio the median of shadow / primary per input
     * @param ratioCi95 a 95% interval of that median, or {@code null} with too few pairs
     */
    public record Probe(int pairs, Double primaryMedianMs, Double shadowMedianMs, Double medianRatio,
            List<Double> ratioCi95) {

        static Probe of(LatencyProbe p) {
            return new Probe(p.pairs(), finite(p.primaryMedianMillis()), finite(p.shadowMedianMillis()),
                    finite(p.medianRatio()), Double.isFinite(p.ratioCi95Low())
                            ? List.of(p.ratioCi95Low(), p.ratioCi95High()) : null);
        }

        private static Double finite(double v) {
            return Double.isFinite(v) ? v : null;
        }
    }

    /**
     * The numbers of one window.
     *
     * @param requests inputs given to the shadow: run, failed, skipped or still pending
     * @param compared inputs both models answered
     * @param agreements of those, how many got the same label
     * @param agreementRate agreements / compared, or {@code null}
     * @param errors shadow runs that failed
     * @param skips inputs the shadow skipped because its queue was full
     * @param pending inputs whose shadow result is not stored yet
     * @param errorRate errors / (requests - skips), or {@code null}
     * @param pairedReviewed compared inputs a person has since accepted or corrected
     * @param bothCorrect paired: both right
     * @param primaryOnlyCorrect paired: only the primary right
     * @param shadowOnlyCorrect paired: only the shadow right
     * @param bothWrong paired: both wrong
     * @param primaryAccuracy the primary's accuracy on the paired reviewed inputs, or {@code null}
     * @param shadowAccuracy the shadow's, or {@code null}
     * @param mcnemar the test on the paired reviewed inputs
     * @param primaryLatencyMs the primary's latency as served
     * @param shadowLatencyMs the shadow's pass time as it ran beside the primary, at the lowest CPU priority (on a busy
     *     machine it includes waiting for a CPU: the load, not the model)
     * @param shadowQueueWaitMs how long inputs waited in the shadow's queue before their pass began
     * @param reviewedAwaitingShadow inputs a person accepted or corrected that the shadow skipped and the backfill is
     *     running now, after which they count in {@code pairedReviewed}
     * @param backfilled shadow answers made later from stored inputs by the backfill
     */
    public record Stats(long requests, long compared, long agreements, Double agreementRate, long errors, long skips,
            long pending, Double errorRate, long pairedReviewed, long bothCorrect, long primaryOnlyCorrect,
            long shadowOnlyCorrect, long bothWrong, Accuracy primaryAccuracy, Accuracy shadowAccuracy,
            McNemar mcnemar, Latency primaryLatencyMs, Latency shadowLatencyMs, Latency shadowQueueWaitMs,
            long reviewedAwaitingShadow, long backfilled) {}

    /**
     * One time bucket.
     *
     * @param start its start
     * @param end its end (exclusive)
     * @param stats its numbers
     */
    public record BucketStats(Instant start, Instant end, Stats stats) {}

    /**
     * The answer of {@code GET /api/deployments/{d}/comparison}.
     *
     * @param deploymentId the deployment
     * @param primaryModelVersionId the primary
     * @param shadowModelVersionId the shadow
     * @param shadowSince when the shadow was set: the comparison counts from here
     * @param asOf when it was computed
     * @param overall everything since the shadow was set
     * @param latencyProbe both models timed back to back on the same inputs, as the promoter last measured them
     * @param notes sentences for people on what the numbers mean now: skips and why, evidence on its way, which
     *     latency is like for like
     * @param bucket the bucket size, ISO-8601
     * @param buckets the last buckets, oldest first, none before the shadow was set
     */
    public record Comparison(String deploymentId, String primaryModelVersionId, String shadowModelVersionId,
            Instant shadowSince, Instant asOf, Stats overall, Probe latencyProbe, List<String> notes, String bucket,
            List<BucketStats> buckets) {}

    public ComparisonService(DeploymentService deployments, ComparisonStore store, LatencyProbes probes, Clock clock) {
        this.deployments = deployments;
        this.store = store;
        this.probes = probes;
        this.clock = clock;
    }

    /**
     * The comparison of the deployment's current pair.
     *
     * @param bucket the bucket size such as {@code 1h} or {@code 15m}, or {@code null} for an hour
     * @param buckets how many of the last buckets, or {@code null} for {@value #DEFAULT_BUCKETS}
     * @throws ApiException 409 when the deployment has no shadow
     */
    public Comparison compare(String deploymentId, String bucket, Integer buckets) {
        Deployment d = requireShadow(deploymentId);
        Duration size = bucket == null ? Duration.ofHours(1) : Durations.parse("bucket", bucket);
        if (size.compareTo(Duration.ofMinutes(1)) < 0 || size.compareTo(Duration.ofDays(7)) > 0) {
            throw ApiException.badRequest("invalid_parameter", "bucket must be from 1m to 7d, such as 15m, 1h or 1d");
        }
        int count = buckets == null ? DEFAULT_BUCKETS : buckets;
        if (count < 1 || count > MAX_BUCKETS) {
            throw ApiException.badRequest("invalid_parameter", "buckets must be from 1 to " + MAX_BUCKETS);
        }
        Instant now = clock.instant();
        // Includes the current second, so that a prediction made just now is counted.
        Instant until = now.plusSeconds(1);
        Instant since = d.shadowSince();
        ComparisonStore.Window window = store.window(d.id(), d.primaryModelVersionId(), d.shadowModelVersionId(), since,
                until);
        Stats overall = stats(window);
        // Reading the comparison times the first pairs when none are, so that a person sees the like-for-like latency
        // without continuous deployment; refreshing it is the promoter's (a GET repeats no more than that).
        LatencyProbe probe = probes.current(d.id(), d.primaryModelVersionId(), d.shadowModelVersionId());
        if (probe.pairs() < LatencyProbes.TARGET_PAIRS) {
            probe = probes.measure(d.id(), d.primaryModelVersionId(), d.shadowModelVersionId());
        }

        long seconds = size.getSeconds();
        long last = Math.floorDiv(now.getEpochSecond(), seconds);
        long first = Math.max(last - count + 1, Math.floorDiv(since.getEpochSecond(), seconds));
        Instant from = Instant.ofEpochSecond(first * seconds);
        Map<Long, ComparisonStore.Window> found = new HashMap<>();
        for (var b : store.buckets(d.id(), d.primaryModelVersionId(), d.shadowModelVersionId(),
                from.isBefore(since) ? since : from, until, seconds)) {
            found.put(b.index(), b.window());
        }
        var out = new ArrayList<BucketStats>();
        for (long i = first; i <= last; i++) {
            out.add(new BucketStats(Instant.ofEpochSecond(i * seconds), Instant.ofEpochSecond((i + 1) * seconds),
                    stats(found.getOrDefault(i, ComparisonStore.Window.EMPTY))));
        }
        return new Comparison(d.id(), d.primaryModelVersionId(), d.shadowModelVersionId(), since, now, overall,
                Probe.of(probe), notes(window, probe), size.toString(), out);
    }

    /**
     * What a promotion policy is given: the current pair since the shadow was set, with both models' passes timed
     * back to back (another round of that when one is due).
     */
    public ShadowComparison forPolicy(Deployment d) {
        Instant now = clock.instant();
        ComparisonStore.Window w = store.window(d.id(), d.primaryModelVersionId(), d.shadowModelVersionId(),
                d.shadowSince(), now.plusSeconds(1));
        LatencyProbe probe = probes.measure(d.id(), d.primaryModelVersionId(), d.shadowModelVersionId());
        return new ShadowComparison(d.primaryModelVersionId(), d.shadowModelVersionId(),
                Duration.between(d.shadowSince(), now), w.compared(), w.agreements(), w.paired(), w.bothCorrect(),
                w.primaryOnly(), w.shadowOnly(), w.bothWrong(), w.requests() - w.skips(), w.errors(), w.skips(),
                w.primaryP95() == null ? 0 : w.primaryP95(), w.shadowP95() == null ? 0 : w.shadowP95(), probe,
                w.awaiting());
    }

    /**
     * A comparison's numbers for events (decisions, promotions), computed here so that they do not depend on the
     * promoter.
     */
    public static Map<String, Object> summary(ShadowComparison c) {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("n", c.pairedReviewed());
        m.put("primary_accuracy", Double.isNaN(c.primaryAccuracy()) ? null : c.primaryAccuracy());
        m.put("shadow_accuracy", Double.isNaN(c.shadowAccuracy()) ? null : c.shadowAccuracy());
        m.put("both_correct", c.bothCorrect());
        m.put("b_primary_only_correct", c.primaryOnlyCorrect());
        m.put("c_shadow_only_correct", c.shadowOnlyCorrect());
        m.put("both_wrong", c.bothWrong());
        m.put("p_value", Statistics.mcNemarExactP(c.primaryOnlyCorrect(), c.shadowOnlyCorrect()));
        m.put("samples_compared", c.samplesCompared());
        m.put("agreements", c.agreements());
        m.put("shadow_requests", c.shadowRequests());
        m.put("shadow_errors", c.shadowErrors());
        m.put("shadow_skips", c.shadowSkips());
        m.put("primary_latency_p95_ms", c.primaryLatencyP95Millis());
        m.put("shadow_latency_p95_ms", c.shadowLatencyP95Millis());
        m.put("latency_probe", Probe.of(c.latencyProbe()));
        m.put("reviewed_awaiting_shadow", c.reviewedAwaitingShadow());
        m.put("shadow_age", c.shadowAge().toString());
        return m;
    }

    /** The sentences that keep a person from misreading the numbers. */
    static List<String> notes(ComparisonStore.Window w, LatencyProbe probe) {
        var notes = new ArrayList<String>();
        if (w.skips() > 0) {
            notes.add(String.format(Locale.ROOT, "The shadow skipped %d of %d inputs (%.0f%%): it runs at the lowest "
                    + "CPU priority so that it never slows the primary, and its queue filled while the machine was "
                    + "busy. A skip is neither an error nor latency.", w.skips(), w.requests(),
                    100.0 * w.skips() / w.requests()));
        }
        if (w.awaiting() > 0 || w.backfilled() > 0) {
            notes.add(w.awaiting() + " reviewed inputs that the shadow skipped are waiting to be run from their stored "
                    + "payloads, after which they count as paired evidence; " + w.backfilled() + " were run so far.");
        }
        if (probe.pairs() == 0) {
            notes.add("The two models' forward passes have not been timed back to back yet: that needs stored inputs "
                    + "of this deployment. Latency guardrails use that measurement, not the latencies as served.");
        } else {
            notes.add(String.format(Locale.ROOT, "Timed back to back on the same %d inputs, the shadow's forward pass "
                    + "takes %.2fx the primary's (median %s ms vs %s ms). That is the like-for-like latency; the shadow's "
                    + "latency as served includes its queue wait and idle priority.", probe.pairs(), probe.medianRatio(),
                    millis(probe.shadowMedianMillis()), millis(probe.primaryMedianMillis())));
        }
        return notes;
    }

    private static String millis(double ms) {
        return String.format(Locale.ROOT, ms >= 10 ? "%.0f" : ms >= 1 ? "%.1f" : "%.3f", ms);
    }

    private Deployment requireShadow(String deploymentId) {
        Deployment d = deployments.get(deploymentId);
        if (d.shadowModelVersionId() == null) {
            throw ApiException.conflict("no_shadow", "deployment '" + d.name() + "' has no shadow model to compare; "
                    + "set one with PUT /api/deployments/" + d.id() + "/shadow");
        }
        return d;
    }

    static Stats stats(ComparisonStore.Window w) {
        long queued = w.requests() - w.skips();
        return new Stats(w.requests(), w.compared(), w.agreements(), ratio(w.agreements(), w.compared()), w.errors(),
                w.skips(), w.pending(), ratio(w.errors(), queued), w.paired(), w.bothCorrect(), w.primaryOnly(),
                w.shadowOnly(), w.bothWrong(), accuracy(w.bothCorrect() + w.primaryOnly(), w.paired()),
                accuracy(w.bothCorrect() + w.shadowOnly(), w.paired()),
                new McNemar(w.primaryOnly(), w.shadowOnly(), Statistics.mcNemarExactP(w.primaryOnly(), w.shadowOnly())),
                new Latency(w.primaryP50(), w.primaryP95()), new Latency(w.shadowP50(), w.shadowP95()),
                new Latency(w.waitP50(), w.waitP95()), w.awaiting(), w.backfilled());
    }

    private static Double ratio(long k, long n) {
        return n == 0 ? null : (double) k / n;
    }

    private static Accuracy accuracy(long correct, long n) {
        double[] ci = Statistics.wilson(correct, n, Statistics.Z95);
        return ci == null ? null : new Accuracy((double) correct / n, ci[0], ci[1]);
    }
}
