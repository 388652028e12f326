package dev.flywheel.plugins.promoter.paired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.flywheel.spi.ExtensionContext;
import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.promotion.LatencyProbe;
import dev.flywheel.spi.promotion.PromotionDecision;
import dev.flywheel.spi.promotion.PromotionDecision.Verdict;
import dev.flywheel.spi.promotion.PromotionPolicy;
import dev.flywheel.spi.promotion.ShadowComparison;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PairedPromotionPolicyFactoryTest {

    private final PairedPromotionPolicyFactory factory = new PairedPromotionPolicyFactory();

    @Test
    void hasTheDocumentedDefaults() throws Exception {
        assertThat(factory.type()).isEqualTo("paired");
        var config = factory.configSchema().validate(Map.of());
        assertThat(config.number("promotion_threshold")).contains(0.05);
        assertThat(config.string("threshold_mode")).contains("absolute");
        assertThat(config.integer("min_samples")).contains(1000L);
        assertThat(config.number("significance")).contains(0.05);
        assertThat(config.number("max_shadow_error_rate")).contains(0.01);
        assertThat(config.number("max_latency_ratio")).contains(2.0);
        assertThat(config.integer("guardrail_min_requests")).contains(100L);
        assertThat(config.integer("latency_min_pairs")).contains(20L);
        assertThat(config.duration("max_duration")).contains(Duration.ofDays(14));
    }

    @Test
    void rejectsAnUnknownThresholdMode() {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of("threshold_mode", "percent")))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessage("threshold_mode: must be one of [absolute, relative]");
    }

    @Test
    void waitsForMinSamplesSayingHowFarAlong() throws Exception {
        // 412 samples with a shadow far better (c = 100, b = 0): still too early.
        var decision = defaults().decide(comparison(300, 0, 100, 12, Duration.ofDays(1)));
        assertThat(decision.verdict()).isEqualTo(Verdict.KEEP_WAITING);
        assertThat(decision.reason()).isEqualTo("412 of 1000 paired reviewed samples");
        assertThat(decision.evidence()).containsEntry("n", 412L).containsEntry("min_samples", 1000L);
    }

    @Test
    void promotesASignificantlyBetterShadowAndShowsItsEvidence() throws Exception {
        // Primary 0.80, shadow 0.88 over 1000: b = 40, c = 120.
        PromotionDecision decision = defaults().decide(comparison(760, 40, 120, 80, Duration.ofDays(3)));
        assertThat(decision.verdict()).isEqualTo(Verdict.PROMOTE);
        assertThat(decision.reason()).isEqualTo("The shadow is better: accuracy 0.880 vs 0.800, absolute gain +0.080 "
                + "(threshold 0.05), McNemar p=2e-10 (b=40, c=120, significance 0.05) over 1000 paired reviewed samples.");
        var e = decision.evidence();
        assertThat(e).containsEntry("n", 1000L)
                .containsEntry("b_primary_only_correct", 40L)
                .containsEntry("c_shadow_only_correct", 120L)
                .containsEntry("promotion_threshold", 0.05)
                .containsEntry("threshold_mode", "absolute")
                .containsEntry("significance", 0.05)
                .containsEntry("max_shadow_error_rate", 0.01)
                .containsEntry("shadow_error_rate", 1 / 1500.0)
                .containsEntry("max_latency_ratio", 2.0)
                .containsEntry("latency_ratio", 1.2)
                .containsEntry("max_duration", "PT336H")
                .containsEntry("verdict", "PROMOTE");
        assertThat((double) e.get("primary_accuracy")).isCloseTo(0.80, within(1e-12));
        assertThat((double) e.get("shadow_accuracy")).isCloseTo(0.88, within(1e-12));
        assertThat((double) e.get("gain")).isCloseTo(0.08, within(1e-12));
        assertThat((double) e.get("p_value")).isCloseTo(1.7524500188513453e-10, within(1e-18));
        @SuppressWarnings("unchecked")
        var ci = (List<Double>) e.get("shadow_accuracy_ci95");
        assertThat(ci.get(0)).isCloseTo(0.8583909241522872, within(1e-12));
        assertThat(ci.get(1)).isCloseTo(0.8987007393986909, within(1e-12));
        assertThat(e).containsKey("primary_accuracy_ci95");
    }

    @Test
    void aGainAboveTheThresholdThatIsNotSignificantKeepsWaiting() throws Exception {
        // Gain 0.05 but from b = 500, c = 550: McNemar p = 0.13.
        var decision = defaults().decide(comparison(0, 500, 550, 0, Duration.ofDays(2)));
        assertThat(decision.verdict()).isEqualTo(Verdict.KEEP_WAITING);
        assertThat(decision.reason()).startsWith("Not decided yet: accuracy 0.524 vs 0.476, absolute gain +0.048");
        // A significant gain below the threshold keeps waiting too.
        var small = defaults().decide(comparison(8000, 100, 250, 1650, Duration.ofDays(2)));
        assertThat((double) small.evidence().get("p_value")).isLessThan(1e-10);
        assertThat(small.verdict()).isEqualTo(Verdict.KEEP_WAITING);
    }

    @Test
    void rejectsASignificantlyWorseShadow() throws Exception {
        var decision = defaults().decide(comparison(760, 120, 40, 80, Duration.ofDays(2)));
        assertThat(decision.verdict()).isEqualTo(Verdict.REJECT);
        assertThat(decision.reason()).startsWith("The shadow is significantly worse: accuracy 0.800 vs 0.880");
    }

    @Test
    void relativeModeDividesTheGainByThePrimaryAccuracy() throws Exception {
        // Primary 0.80, shadow 0.85: absolute gain 0.05, relative gain 0.0625.
        var comparison = comparison(750, 50, 100, 100, Duration.ofDays(2));
        var absolute = create(Map.of("promotion_threshold", 0.06));
        var relative = create(Map.of("promotion_threshold", 0.06, "threshold_mode", "relative"));
        assertThat(absolute.decide(comparison).verdict()).isEqualTo(Verdict.KEEP_WAITING);
        var decision = relative.decide(comparison);
        assertThat(decision.verdict()).isEqualTo(Verdict.PROMOTE);
        assertThat(decision.reason()).contains("relative gain +0.062 (threshold 0.06)");
        assertThat((double) decision.evidence().get("relative_gain")).isCloseTo(0.0625, within(1e-12));
    }

    @Test
    void anErrorRateAboveTheGuardrailBeyondChanceRejectsEvenABetterShadow() throws Exception {
        var decision = defaults().decide(withErrors(comparison(760, 40, 120, 80, Duration.ofDays(2)), 2000, 41));
        assertThat(decision.verdict()).isEqualTo(Verdict.REJECT);
        assertThat(decision.reason()).isEqualTo("The shadow's error rate 2.05% (41 of 2000 requests failed, 95% "
                + "interval 1.51% to 2.77%) is above the 1% guardrail.");
        // At the limit it holds.
        assertThat(defaults().decide(withErrors(comparison(760, 40, 120, 80, Duration.ofDays(2)), 2000, 20))
                .verdict()).isEqualTo(Verdict.PROMOTE);
    }

    @Test
    void anErrorRateAboveTheGuardrailThatCouldBeChanceHoldsThePromotion() throws Exception {
        // 2 of 100 is 2%, but its 95% interval (0.55% to 7%) reaches below 1%.
        var decision = defaults().decide(withErrors(comparison(760, 40, 120, 80, Duration.ofDays(2)), 100, 2));
        assertThat(decision.verdict()).isEqualTo(Verdict.KEEP_WAITING);
        assertThat(decision.reason()).startsWith("The shadow is better (accuracy 0.880 vs 0.800")
                .endsWith("but: The shadow's error rate 2% (2 of 100 requests failed, 95% interval 0.55% to 7%) "
                        + "is above the 1% guardrail, but that could be chance; waiting for more requests.");
        // More requests at the same rate settle it.
        assertThat(defaults().decide(withErrors(comparison(760, 40, 120, 80, Duration.ofDays(2)), 1000, 20))
                .verdict()).isEqualTo(Verdict.REJECT);
    }

    @Test
    void aShadowWhoseForwardPassIsMuchSlowerIsRejected() throws Exception {
        // Ten times the primary's pass, measured back to back on 40 inputs.
        var decision = defaults().decide(withProbe(comparison(760, 40, 120, 80, Duration.ofDays(2)),
                new LatencyProbe(40, 0.3, 3.1, 10.3, 9.8, 10.9)));
        assertThat(decision.verdict()).isEqualTo(Verdict.REJECT);
        assertThat(decision.reason()).isEqualTo("The shadow's forward pass takes 10.30x the primary's (median of 40 "
                + "back-to-back passes on the same inputs: 3.1 ms vs 0.300 ms; 95% interval 9.80x to 10.90x), above "
                + "the 2x guardrail.");
        assertThat(decision.evidence()).containsEntry("latency_ratio", 10.3).containsEntry("latency_probe_pairs", 40)
                .containsEntry("latency_ratio_ci95", List.of(9.8, 10.9)).containsEntry("latency_judged", true);
        // Even before min_samples: a model that slow is not worth waiting for.
        assertThat(defaults().decide(withProbe(comparison(10, 0, 5, 0, Duration.ofHours(1)),
                new LatencyProbe(40, 0.3, 3.1, 10.3, 9.8, 10.9))).verdict()).isEqualTo(Verdict.REJECT);
    }

    @Test
    void aLatencyBreachThatCouldBeChanceHoldsThePromotion() throws Exception {
        var probe = new LatencyProbe(25, 1.0, 2.3, 2.3, 1.6, 3.1);
        var decision = defaults().decide(withProbe(comparison(760, 40, 120, 80, Duration.ofDays(2)), probe));
        assertThat(decision.verdict()).isEqualTo(Verdict.KEEP_WAITING);
        assertThat(decision.reason()).endsWith("The shadow's forward pass takes 2.30x the primary's (median of 25 "
                + "back-to-back passes on the same inputs: 2.3 ms vs 1.0 ms; 95% interval 1.60x to 3.10x), above the "
                + "2x guardrail, but its interval reaches below it; measuring more passes.");
        // Past max_duration the hold ends in a rejection, not in a promotion.
        assertThat(defaults().decide(withProbe(comparison(760, 40, 120, 80, Duration.ofDays(15)), probe)).verdict())
                .isEqualTo(Verdict.REJECT);
    }

    @Test
    void noPromotionBeforeTheLatencyIsMeasured() throws Exception {
        var decision = defaults().decide(withProbe(comparison(760, 40, 120, 80, Duration.ofDays(2)),
                new LatencyProbe(12, 1.0, 1.1, 1.1, Double.NaN, Double.NaN)));
        assertThat(decision.verdict()).isEqualTo(Verdict.KEEP_WAITING);
        assertThat(decision.reason()).endsWith("but: The forward-pass latency is not measured yet: 12 of 20 "
                + "back-to-back passes on the same inputs.");
        assertThat(decision.evidence()).containsEntry("latency_judged", false).containsEntry("latency_ratio_ci95", null);
        // A significantly worse shadow is rejected all the same.
        assertThat(defaults().decide(withProbe(comparison(760, 120, 40, 80, Duration.ofDays(2)), LatencyProbe.NONE))
                .verdict()).isEqualTo(Verdict.REJECT);
    }

    @Test
    void latenciesAsServedAreReportedButNeverJudged() throws Exception {
        // The demo on a busy machine: the idle-priority shadow's p95 as served is 84x the primary's, while both
        // forward passes, timed back to back, take the same time. That is the machine's load, not the model.
        var served = new ShadowComparison("v1", "v2", Duration.ofMinutes(5), 1500, 1000, 1000, 760, 40, 120, 80, 2000,
                0, 300, 16, 1379, new LatencyProbe(40, 0.21, 0.22, 1.02, 0.95, 1.1), 0);
        var decision = defaults().decide(served);
        assertThat(decision.verdict()).isEqualTo(Verdict.PROMOTE);
        assertThat(decision.evidence()).containsEntry("shadow_latency_p95_ms", 1379.0)
                .containsEntry("primary_latency_p95_ms", 16.0).containsEntry("latency_ratio", 1.02);
    }

    @Test
    void reviewedInputsTheShadowHasNotAnsweredYetAreShownWhileWaiting() throws Exception {
        var c = comparison(300, 0, 100, 12, Duration.ofDays(1));
        var waiting = new ShadowComparison(c.primaryVersionId(), c.shadowVersionId(), c.shadowAge(),
                c.samplesCompared(), c.agreements(), c.pairedReviewed(), c.bothCorrect(), c.primaryOnlyCorrect(),
                c.shadowOnlyCorrect(), c.bothWrong(), c.shadowRequests(), c.shadowErrors(), c.shadowSkips(),
                c.primaryLatencyP95Millis(), c.shadowLatencyP95Millis(), c.latencyProbe(), 57);
        var decision = defaults().decide(waiting);
        assertThat(decision.reason()).isEqualTo("412 of 1000 paired reviewed samples (57 more reviewed, waiting for the "
                + "shadow's answer)");
        assertThat(decision.evidence()).containsEntry("reviewed_awaiting_shadow", 57L);
    }

    @Test
    void guardrailsWaitForEnoughShadowRequests() throws Exception {
        // One failure in the first ten requests (10%) is no evidence of a broken model yet.
        var early = defaults().decide(withErrors(comparison(100, 0, 0, 0, Duration.ofHours(1)), 10, 1));
        assertThat(early.verdict()).isEqualTo(Verdict.KEEP_WAITING);
        assertThat(early.evidence()).containsEntry("guardrails_judged", false);
        var judged = defaults().decide(withErrors(comparison(100, 0, 0, 0, Duration.ofHours(1)), 100, 10));
        assertThat(judged.verdict()).isEqualTo(Verdict.REJECT);
    }

    @Test
    void anUndecidedShadowOlderThanMaxDurationIsRejected() throws Exception {
        var undecided = comparison(0, 500, 520, 0, Duration.ofDays(15));
        var decision = defaults().decide(undecided);
        assertThat(decision.verdict()).isEqualTo(Verdict.REJECT);
        assertThat(decision.reason()).startsWith("Undecided after 15d, longer than max_duration 14d: accuracy");
        assertThat(defaults().decide(comparison(0, 500, 520, 0, Duration.ofDays(13))).verdict())
                .isEqualTo(Verdict.KEEP_WAITING);
        // A shadow that never gathers enough reviews is undecided too.
        var starved = defaults().decide(comparison(300, 10, 12, 90, Duration.ofDays(15)));
        assertThat(starved.verdict()).isEqualTo(Verdict.REJECT);
        assertThat(starved.reason()).isEqualTo("Only 412 of 1000 paired reviewed samples after 15d, longer than max_duration 14d.");
        // A clear winner is still promoted, however long it took.
        assertThat(defaults().decide(comparison(760, 40, 120, 80, Duration.ofDays(20))).verdict())
                .isEqualTo(Verdict.PROMOTE);
    }

    @Test
    void withoutAnyReviewedPairTheEvidenceHasNoNumbersItCannotKnow() throws Exception {
        var decision = defaults().decide(comparison(0, 0, 0, 0, Duration.ZERO));
        assertThat(decision.verdict()).isEqualTo(Verdict.KEEP_WAITING);
        assertThat(decision.evidence()).containsEntry("primary_accuracy", null)
                .containsEntry("shadow_accuracy_ci95", null)
                .containsEntry("p_value", 1.0);
    }

    // --- simulations: seeded paired outcomes, decided every 50 reviews as the server would ------------------

    /** Probabilities of the four paired outcomes: both right, only the primary, only the shadow, both wrong. */
    private static final double[] BETTER = {0.75, 0.03, 0.13, 0.09};
    private static final double[] WORSE = {0.75, 0.13, 0.03, 0.09};
    private static final double[] EQUAL = {0.75, 0.08, 0.08, 0.09};

    @Test
    void aBetterShadowIsPromotedOnceMinSamplesIsReachedAndNotBefore() throws Exception {
        var policy = defaults();
        var random = new Random(11);
        int promoted = 0;
        for (int run = 0; run < 100; run++) {
            Verdict last = simulate(policy, random, BETTER, 3000);
            promoted += last == Verdict.PROMOTE ? 1 : 0;
        }
        // True gain 0.10 against a 0.05 threshold: the estimate falls short at n = 1000 only by bad luck.
        assertThat(promoted).isGreaterThanOrEqualTo(95);
    }

    @Test
    void aWorseOrEqualShadowIsNeverPromoted() throws Exception {
        var policy = defaults();
        var random = new Random(12);
        int rejectedWorse = 0;
        for (int run = 0; run < 100; run++) {
            Verdict worse = simulate(policy, random, WORSE, 5000);
            Verdict equal = simulate(policy, random, EQUAL, 5000);
            assertThat(worse).isNotEqualTo(Verdict.PROMOTE);
            assertThat(equal).isNotEqualTo(Verdict.PROMOTE);
            rejectedWorse += worse == Verdict.REJECT ? 1 : 0;
        }
        assertThat(rejectedWorse).isEqualTo(100);
    }

    /**
     * Feeds reviewed pairs one at a time and asks for a decision every 50; returns the first promotion or
     * rejection, or KEEP_WAITING if there is none by {@code maxSamples}. Fails if anything but KEEP_WAITING
     * comes before min_samples.
     */
    private static Verdict simulate(PromotionPolicy policy, Random random, double[] outcome, int maxSamples) {
        long[] cells = new long[4];
        for (int i = 1; i <= maxSamples; i++) {
            double u = random.nextDouble();
            int k = 0;
            double cumulative = outcome[0];
            while (u >= cumulative && k < 3) {
                cumulative += outcome[++k];
            }
            cells[k]++;
            if (i % 50 == 0) {
                Verdict verdict = policy.decide(comparison(cells[0], cells[1], cells[2], cells[3],
                        Duration.ofDays(1))).verdict();
                if (i < 1000) {
                    assertThat(verdict).as("verdict after %d samples", i).isEqualTo(Verdict.KEEP_WAITING);
                } else if (verdict != Verdict.KEEP_WAITING) {
                    return verdict;
                }
            }
        }
        return Verdict.KEEP_WAITING;
    }

    // --------------------------------------------------------------------------------------------------------

    private PromotionPolicy defaults() throws ConfigValidationException {
        return create(Map.of());
    }

    private PromotionPolicy create(Map<String, ?> raw) throws ConfigValidationException {
        return factory.create(factory.configSchema().validate(raw), context());
    }

    /** A comparison with healthy guardrails: 1 error in 1000 requests, the shadow's pass 1.2x the primary's. */
    private static ShadowComparison comparison(long bothCorrect, long b, long c, long bothWrong, Duration age) {
        long n = bothCorrect + b + c + bothWrong;
        return new ShadowComparison("v1", "v2", age, n + 500, n + 300, n, bothCorrect, b, c, bothWrong,
                Math.max(1000, n + 500), 1, 0, 100, 120, new LatencyProbe(40, 1.0, 1.2, 1.2, 1.1, 1.3), 0);
    }

    private static ShadowComparison withErrors(ShadowComparison s, long requests, long errors) {
        return new ShadowComparison(s.primaryVersionId(), s.shadowVersionId(), s.shadowAge(), s.samplesCompared(),
                s.agreements(), s.pairedReviewed(), s.bothCorrect(), s.primaryOnlyCorrect(), s.shadowOnlyCorrect(),
                s.bothWrong(), requests, errors, 0, s.primaryLatencyP95Millis(), s.shadowLatencyP95Millis(),
                s.latencyProbe(), 0);
    }

    private static ShadowComparison withProbe(ShadowComparison s, LatencyProbe probe) {
        return new ShadowComparison(s.primaryVersionId(), s.shadowVersionId(), s.shadowAge(), s.samplesCompared(),
                s.agreements(), s.pairedReviewed(), s.bothCorrect(), s.primaryOnlyCorrect(), s.shadowOnlyCorrect(),
                s.bothWrong(), s.shadowRequests(), s.shadowErrors(), s.shadowSkips(), s.primaryLatencyP95Millis(),
                s.shadowLatencyP95Millis(), probe, 0);
    }

    private static ExtensionContext context() {
        return new ExtensionContext() {
            @Override
            public String instanceName() {
                return "paired-test";
            }

            @Override
            public Path workDirectory() {
                return Path.of(System.getProperty("java.io.tmpdir"));
            }

            @Override
            public String serverVersion() {
                return "0.1.0";
            }
        };
    }
}
