package dev.flywheel.plugins.promoter.paired;

import dev.flywheel.spi.promotion.LatencyProbe;
import dev.flywheel.spi.promotion.PromotionDecision;
import dev.flywheel.spi.promotion.PromotionDecision.Verdict;
import dev.flywheel.spi.promotion.PromotionPolicy;
import dev.flywheel.spi.promotion.ShadowComparison;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Decides in this order: a guardrail breached beyond chance rejects; too few paired reviewed samples waits (or, past
 * {@code max_duration}, rejects); a gain at or above the threshold with a significant McNemar test promotes, unless a
 * guardrail is breached by what could be chance or latency is not measured yet, which waits; a significantly worse
 * shadow is rejected; a shadow past {@code max_duration} is rejected; otherwise it waits. Every number behind the
 * verdict is in the evidence, whatever the verdict.
 *
 * <p>The latency guardrail reads the server's {@link LatencyProbe} (both models timed back to back on the same
 * inputs), never the latencies recorded while serving: the shadow runs at idle priority behind a queue, so on a busy
 * machine those measure the load rather than the model.
 */
public final class PairedPromotionPolicy implements PromotionPolicy {

    /**
     * The policy's configuration.
     *
     * @param threshold the gain the shadow must show
     * @param relative whether the gain is relative to the primary's accuracy
     * @param minSamples paired reviewed samples before any decision on accuracy
     * @param significance the McNemar p-value below which a difference counts
     * @param maxShadowErrorRate the error-rate guardrail
     * @param maxLatencyRatio the guardrail on the median ratio of forward-pass times measured back to back
     * @param guardrailMinRequests shadow requests before the error-rate guardrail is judged
     * @param latencyMinPairs back-to-back pass pairs before the latency guardrail is judged
     * @param maxDuration how long a shadow may stay undecided
     */
    public record Settings(
            double threshold,
            boolean relative,
            long minSamples,
            double significance,
            double maxShadowErrorRate,
            double maxLatencyRatio,
            long guardrailMinRequests,
            long latencyMinPairs,
            Duration maxDuration) {}

    private final Settings settings;

    /** A policy with the given settings. */
    public PairedPromotionPolicy(Settings settings) {
        this.settings = settings;
    }

    @Override
    public PromotionDecision decide(ShadowComparison c) {
        long n = c.pairedReviewed();
        long b = c.primaryOnlyCorrect();
        long cc = c.shadowOnlyCorrect();
        double primaryAccuracy = c.primaryAccuracy();
        double shadowAccuracy = c.shadowAccuracy();
        double gain = shadowAccuracy - primaryAccuracy;
        double relativeGain = primaryAccuracy > 0 ? gain / primaryAccuracy
                : gain > 0 ? Double.POSITIVE_INFINITY : 0.0;
        double measuredGain = settings.relative() ? relativeGain : gain;
        double p = McNemar.exactPValue(b, cc);
        double errorRate = c.shadowRequests() > 0 ? (double) c.shadowErrors() / c.shadowRequests() : 0.0;
        WilsonInterval errorCi = c.shadowRequests() > 0
                ? WilsonInterval.of95(Math.min(c.shadowErrors(), c.shadowRequests()), c.shadowRequests()) : null;
        boolean guardrailsJudged = c.shadowRequests() >= settings.guardrailMinRequests();
        LatencyProbe probe = c.latencyProbe();
        boolean latencyJudged = probe.pairs() >= settings.latencyMinPairs();
        boolean tooOld = c.shadowAge() != null && c.shadowAge().compareTo(settings.maxDuration()) > 0;

        var e = new LinkedHashMap<String, Object>();
        e.put("n", n);
        e.put("primary_accuracy", finite(primaryAccuracy));
        e.put("primary_accuracy_ci95", n > 0 ? interval(c.bothCorrect() + b, n) : null);
        e.put("shadow_accuracy", finite(shadowAccuracy));
        e.put("shadow_accuracy_ci95", n > 0 ? interval(c.bothCorrect() + cc, n) : null);
        e.put("gain", finite(gain));
        e.put("relative_gain", finite(relativeGain));
        e.put("both_correct", c.bothCorrect());
        e.put("b_primary_only_correct", b);
        e.put("c_shadow_only_correct", cc);
        e.put("both_wrong", c.bothWrong());
        e.put("p_value", p);
        e.put("promotion_threshold", settings.threshold());
        e.put("threshold_mode", settings.relative() ? "relative" : "absolute");
        e.put("min_samples", settings.minSamples());
        e.put("significance", settings.significance());
        e.put("reviewed_awaiting_shadow", c.reviewedAwaitingShadow());
        e.put("shadow_requests", c.shadowRequests());
        e.put("shadow_errors", c.shadowErrors());
        e.put("shadow_skips", c.shadowSkips());
        e.put("shadow_error_rate", errorRate);
        e.put("shadow_error_rate_ci95", errorCi == null ? null : List.of(errorCi.lower(), errorCi.upper()));
        e.put("max_shadow_error_rate", settings.maxShadowErrorRate());
        e.put("guardrail_min_requests", settings.guardrailMinRequests());
        e.put("guardrails_judged", guardrailsJudged);
        e.put("latency_probe_pairs", probe.pairs());
        e.put("primary_pass_ms", finite(probe.primaryMedianMillis()));
        e.put("shadow_pass_ms", finite(probe.shadowMedianMillis()));
        e.put("latency_ratio", finite(probe.medianRatio()));
        e.put("latency_ratio_ci95", Double.isFinite(probe.ratioCi95Low())
                ? List.of(probe.ratioCi95Low(), probe.ratioCi95High()) : null);
        e.put("max_latency_ratio", settings.maxLatencyRatio());
        e.put("latency_min_pairs", settings.latencyMinPairs());
        e.put("latency_judged", latencyJudged);
        // As served: reported, never judged (the shadow runs at idle priority behind a queue).
        e.put("primary_latency_p95_ms", finite(c.primaryLatencyP95Millis()));
        e.put("shadow_latency_p95_ms", finite(c.shadowLatencyP95Millis()));
        e.put("samples_compared", c.samplesCompared());
        e.put("agreements", c.agreements());
        e.put("shadow_age", c.shadowAge() == null ? null : c.shadowAge().toString());
        e.put("max_duration", settings.maxDuration().toString());

        // A guardrail rejects only when its breach cannot be chance; a breach that could be (a few failures, a pass
        // timed while the machine stalled) holds the promotion and waits for more evidence.
        String errorHold = null;
        if (guardrailsJudged && errorRate > settings.maxShadowErrorRate()) {
            String rate = String.format(Locale.ROOT, "The shadow's error rate %s (%d of %d requests failed, 95%% "
                    + "interval %s to %s) is above the %s guardrail", percent(errorRate), c.shadowErrors(),
                    c.shadowRequests(), percent(errorCi.lower()), percent(errorCi.upper()),
                    percent(settings.maxShadowErrorRate()));
            if (errorCi.lower() > settings.maxShadowErrorRate()) {
                return decision(Verdict.REJECT, rate + ".", e);
            }
            errorHold = rate + ", but that could be chance; waiting for more requests.";
        }
        String latencyHold;
        if (!latencyJudged) {
            latencyHold = "The forward-pass latency is not measured yet: " + probe.pairs() + " of "
                    + settings.latencyMinPairs() + " back-to-back passes on the same inputs.";
        } else {
            String ratio = String.format(Locale.ROOT, "The shadow's forward pass takes %.2fx the primary's (median "
                    + "of %d back-to-back passes on the same inputs: %s ms vs %s ms; 95%% interval %s)",
                    probe.medianRatio(), probe.pairs(), millis(probe.shadowMedianMillis()),
                    millis(probe.primaryMedianMillis()), ratioInterval(probe));
            if (probe.ratioCi95Low() > settings.maxLatencyRatio()) {
                return decision(Verdict.REJECT, ratio + ", above the " + plain(settings.maxLatencyRatio())
                        + "x guardrail.", e);
            }
            latencyHold = probe.medianRatio() > settings.maxLatencyRatio()
                    ? ratio + ", above the " + plain(settings.maxLatencyRatio()) + "x guardrail, but its interval "
                            + "reaches below it; measuring more passes."
                    : null;
        }
        if (n < settings.minSamples()) {
            if (tooOld) {
                return decision(Verdict.REJECT, String.format(Locale.ROOT,
                        "Only %d of %d paired reviewed samples after %s, longer than max_duration %s.",
                        n, settings.minSamples(), human(c.shadowAge()), human(settings.maxDuration())), e);
            }
            return decision(Verdict.KEEP_WAITING, n + " of " + settings.minSamples() + " paired reviewed samples"
                    + (c.reviewedAwaitingShadow() > 0 ? " (" + c.reviewedAwaitingShadow() + " more reviewed, waiting "
                            + "for the shadow's answer)" : ""), e);
        }

        String numbers = String.format(Locale.ROOT,
                "accuracy %.3f vs %.3f, %s gain %s (threshold %s), McNemar p=%s (b=%d, c=%d, significance %s) "
                        + "over %d paired reviewed samples",
                shadowAccuracy, primaryAccuracy, settings.relative() ? "relative" : "absolute",
                signed(measuredGain), plain(settings.threshold()), formatP(p), b, cc,
                plain(settings.significance()), n);
        String hold = errorHold != null ? errorHold : latencyHold;
        if (measuredGain >= settings.threshold() && p < settings.significance()) {
            if (hold == null) {
                return decision(Verdict.PROMOTE, "The shadow is better: " + numbers + ".", e);
            }
            if (!tooOld) {
                return decision(Verdict.KEEP_WAITING, "The shadow is better (" + numbers + "), but: " + hold, e);
            }
        }
        if (p < settings.significance() && shadowAccuracy < primaryAccuracy) {
            return decision(Verdict.REJECT, "The shadow is significantly worse: " + numbers + ".", e);
        }
        if (tooOld) {
            return decision(Verdict.REJECT, "Undecided after " + human(c.shadowAge()) + ", longer than max_duration "
                    + human(settings.maxDuration()) + ": " + numbers + "." + (hold == null ? "" : " " + hold), e);
        }
        return decision(Verdict.KEEP_WAITING, "Not decided yet: " + numbers + ".", e);
    }

    private static String ratioInterval(LatencyProbe probe) {
        return Double.isFinite(probe.ratioCi95Low())
                ? String.format(Locale.ROOT, "%.2fx to %.2fx", probe.ratioCi95Low(), probe.ratioCi95High())
                : "not known yet";
    }

    private static String millis(double ms) {
        return ms >= 10 ? String.format(Locale.ROOT, "%.0f", ms) : ms >= 1 ? String.format(Locale.ROOT, "%.1f", ms)
                : String.format(Locale.ROOT, "%.3f", ms);
    }

    private static PromotionDecision decision(Verdict verdict, String reason, Map<String, Object> evidence) {
        evidence.put("verdict", verdict.name());
        return new PromotionDecision(verdict, reason, evidence);
    }

    private static List<Double> interval(long successes, long n) {
        var ci = WilsonInterval.of95(successes, n);
        return List.of(ci.lower(), ci.upper());
    }

    /** JSON has no NaN or infinity; an undefined number is reported as null. */
    private static Double finite(double value) {
        return Double.isFinite(value) ? value : null;
    }

    private static String plain(double value) {
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    private static String percent(double share) {
        return BigDecimal.valueOf(share * 100).setScale(2, java.math.RoundingMode.HALF_UP)
                .stripTrailingZeros().toPlainString() + "%";
    }

    private static String signed(double value) {
        return Double.isInfinite(value) ? "+inf (primary accuracy 0)" : String.format(Locale.ROOT, "%+.3f", value);
    }

    static String formatP(double p) {
        if (p >= 0.001) {
            return String.format(Locale.ROOT, "%.3f", p);
        }
        if (p < Double.MIN_NORMAL) {
            return "<1e-300";
        }
        // Java pads the exponent ("5e-05"); people write "5e-5".
        return String.format(Locale.ROOT, "%.0e", p).replaceAll("e-0*(\\d)", "e-$1");
    }

    /** 14d, 36h, 90m: how people say a duration, not PT336H. */
    private static String human(Duration d) {
        if (d.toDays() > 0 && d.equals(Duration.ofDays(d.toDays()))) {
            return d.toDays() + "d";
        }
        if (d.toHours() > 0 && d.equals(Duration.ofHours(d.toHours()))) {
            return d.toHours() + "h";
        }
        if (d.toHours() >= 48) {
            return String.format(Locale.ROOT, "%.1fd", d.toMinutes() / 1440.0);
        }
        return d.toMinutes() + "m";
    }
}
