package dev.flywheel.plugins.trigger.drift;

import static dev.flywheel.plugins.trigger.drift.TestContexts.extensionContext;
import static dev.flywheel.plugins.trigger.drift.TestContexts.traffic;
import static dev.flywheel.plugins.trigger.drift.TestContexts.withSamples;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.spi.config.ConfigValidationException;
import dev.flywheel.spi.trigger.RetrainingTrigger;
import dev.flywheel.spi.trigger.TriggerContext.Sample;
import dev.flywheel.spi.trigger.TriggerDecision;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DriftTriggerFactoryTest {

    private static final double[] FIFTY_FIFTY = {0.5, 0.5};

    private final DriftTriggerFactory factory = new DriftTriggerFactory();

    @Test
    void describesItself() {
        assertThat(factory.type()).isEqualTo("drift");
        assertThat(factory.configSchema().properties()).extracting(p -> p.name()).containsExactly(
                "window_size", "min_window", "label_psi_threshold", "feature_psi_threshold", "ks_p_value",
                "ks_min_statistic", "reference_size");
    }

    @Test
    void hasTheDocumentedDefaults() throws Exception {
        var config = factory.configSchema().validate(Map.of());
        assertThat(config.integer("window_size")).contains(500L);
        assertThat(config.integer("min_window")).contains(200L);
        assertThat(config.number("label_psi_threshold")).contains(0.25);
        assertThat(config.number("feature_psi_threshold")).contains(0.25);
        assertThat(config.number("ks_p_value")).contains(0.0001);
        assertThat(config.number("ks_min_statistic")).contains(0.1);
        assertThat(config.integer("reference_size")).contains(2000L);
    }

    @Test
    void rejectsATinyWindow() {
        assertThatThrownBy(() -> factory.configSchema().validate(Map.of("window_size", 10)))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessage("window_size: must be at least 50");
    }

    @Test
    void rejectsAMinimumWindowLargerThanTheWindow() throws Exception {
        var config = factory.configSchema().validate(Map.of("window_size", 100, "min_window", 150));
        assertThatThrownBy(() -> factory.validate(config))
                .isInstanceOf(ConfigValidationException.class)
                .hasMessage("min_window: must not exceed window_size (100), or the trigger would never decide");
        factory.validate(factory.configSchema().validate(Map.of("window_size", 100, "min_window", 100)));
    }

    @Test
    void holdsWithoutAReferenceSayingWhy() throws Exception {
        var recent = traffic(new Random(1), 500, FIFTY_FIFTY, 2, -1, 0);
        TriggerDecision decision = defaults().evaluate(withSamples(null, recent));
        assertThat(decision.fire()).isFalse();
        assertThat(decision.reason()).startsWith("No reference to compare with yet");
        assertThat(decision.evidence()).containsEntry("reference_size", 0L).containsEntry("window_size", 500L);
    }

    @Test
    void holdsWithTooLittleTrafficEvenWhenItHasObviouslyShifted() throws Exception {
        var random = new Random(2);
        var reference = traffic(random, 2000, FIFTY_FIFTY, 2, -1, 0);
        var recent = traffic(random, 199, new double[] {0.01, 0.99}, 2, 0, 5);
        TriggerDecision decision = defaults().evaluate(withSamples(reference, recent));
        assertThat(decision.fire()).isFalse();
        assertThat(decision.reason())
                .isEqualTo("Waiting for traffic: 199 of 200 recent predictions needed before comparing with the reference.");
    }

    @Test
    void holdsWhenTheReferenceIsSmallerThanTheMinimumWindow() throws Exception {
        var random = new Random(3);
        var decision = defaults().evaluate(withSamples(
                traffic(random, 120, FIFTY_FIFTY, 2, -1, 0), traffic(random, 500, FIFTY_FIFTY, 2, -1, 0)));
        assertThat(decision.fire()).isFalse();
        assertThat(decision.reason()).startsWith("The reference has only 120 items; 200 are needed");
    }

    @Test
    void comparesOnlyTheConfiguredWindowAndReferenceSizes() throws Exception {
        var random = new Random(4);
        var reference = traffic(random, 5000, FIFTY_FIFTY, 1, -1, 0);
        // The newest 300 items are stationary; what lies beyond the window is shifted and must not count.
        var recent = concat(traffic(random, 300, FIFTY_FIFTY, 1, -1, 0), traffic(random, 700, FIFTY_FIFTY, 1, 0, 3));
        var trigger = create(Map.of("window_size", 300, "reference_size", 1000));
        TriggerDecision decision = trigger.evaluate(withSamples(reference, recent));
        assertThat(decision.fire()).isFalse();
        assertThat(decision.evidence()).containsEntry("window_size", 300L).containsEntry("reference_size", 1000L);
    }

    @Test
    void firesOnAFeatureShiftAndExplainsItInOneSentence() throws Exception {
        var random = new Random(5);
        var reference = traffic(random, 2000, FIFTY_FIFTY, 4, -1, 0);
        var recent = traffic(random, 500, FIFTY_FIFTY, 4, 2, 1.0);
        TriggerDecision decision = defaults().evaluate(withSamples(reference, recent));

        assertThat(decision.fire()).isTrue();
        assertThat(decision.reason()).matches(
                "feature 2 drifted: PSI \\d\\.\\d\\d > 0\\.25, KS D=0\\.\\d\\d p=\\d+e-\\d+ \\(window 500 vs reference 2000\\)");
        var evidence = decision.evidence();
        assertThat(evidence).containsEntry("most_drifted_feature", 2L)
                .containsEntry("window_size", 500L)
                .containsEntry("reference_size", 2000L)
                .containsEntry("feature_psi_threshold", 0.25)
                .containsEntry("ks_p_value_threshold", 0.0001)
                .containsEntry("ks_p_value_threshold_per_feature", 0.0001 / 4)
                .containsEntry("ks_min_statistic", 0.1)
                .containsEntry("label_psi_threshold", 0.25)
                .containsKeys("label_psi", "most_drifted_label", "reference_label_share", "window_label_share");
        assertThat((double) evidence.get("most_drifted_feature_ks_statistic")).isBetween(0.3, 0.46);
        assertThat((List<?>) evidence.get("features")).hasSize(4);
        assertThat((List<?>) evidence.get("drifted")).hasSize(1);
        @SuppressWarnings("unchecked")
        var feature2 = (Map<String, Object>) ((List<?>) evidence.get("features")).get(2);
        assertThat(feature2).containsEntry("index", 2L).containsKeys("psi", "ks_statistic", "ks_p_value");
    }

    @Test
    void firesOnALabelMixShiftAndNamesTheLabel() throws Exception {
        var random = new Random(6);
        var reference = labelsOnly(random, 2000, FIFTY_FIFTY);
        var recent = labelsOnly(random, 500, new double[] {0.8, 0.2});
        TriggerDecision decision = defaults().evaluate(withSamples(reference, recent));

        assertThat(decision.fire()).isTrue();
        assertThat(decision.reason()).matches(
                "label mix drifted: PSI 0\\.\\d\\d > 0\\.25 \\(most: 'class-1' [45]\\d% -> [12]\\d%\\) \\(window 500 vs reference 2000\\)");
        assertThat(decision.evidence()).containsEntry("most_drifted_label", "class-1")
                .containsEntry("features", "not compared: no feature values on one side");
    }

    @Test
    void aKsDifferenceBelowTheMinimumEffectSizeDoesNotFire() throws Exception {
        // A shift of 0.15 sd over 20 000 items is highly significant (p ~ 1e-30) yet trivial (D ~ 0.06).
        var random = new Random(8);
        var reference = traffic(random, 20_000, FIFTY_FIFTY, 1, -1, 0);
        var recent = traffic(random, 20_000, FIFTY_FIFTY, 1, 0, 0.15);
        var trigger = create(Map.of("window_size", 20_000, "reference_size", 20_000));
        TriggerDecision decision = trigger.evaluate(withSamples(reference, recent));
        assertThat((double) decision.evidence().get("most_drifted_feature_ks_p_value")).isLessThan(1e-10);
        assertThat(decision.fire()).isFalse();
        assertThat(decision.reason()).startsWith("No drift: label PSI 0.00 <= 0.25; feature 0 moved the most");

        var strict = create(Map.of("window_size", 20_000, "reference_size", 20_000, "ks_min_statistic", 0.02));
        assertThat(strict.evaluate(withSamples(reference, recent)).fire()).isTrue();
    }

    @Test
    void ignoresMissingFeatureValuesAndComparesOnlySharedDimensions() throws Exception {
        var random = new Random(9);
        var reference = traffic(random, 2000, FIFTY_FIFTY, 3, -1, 0);
        var recentRows = new ArrayList<double[]>();
        var labels = new ArrayList<String>();
        for (int i = 0; i < 500; i++) {
            // Live traffic has only two features, and the second is missing (NaN) one time in ten.
            recentRows.add(new double[] {random.nextGaussian(), i % 10 == 0 ? Double.NaN : random.nextGaussian()});
            labels.add(random.nextBoolean() ? "class-0" : "class-1");
        }
        var decision = defaults().evaluate(withSamples(reference, new Sample(labels, recentRows, List.of())));
        assertThat(decision.fire()).isFalse();
        assertThat((List<?>) decision.evidence().get("features")).hasSize(2);
    }

    // --- statistical calibration of the defaults -------------------------------------------------------------

    /** Simulations per scenario; raise with -Ddrift.simulations=5000 to measure the rates more precisely. */
    private static final int SIMULATIONS = Integer.getInteger("drift.simulations", 200);

    /**
     * The defaults are a per-evaluation false-alarm rate of about ks_p_value (0.1%; measured 6 in 5000 at
     * window 500 and 9 in 5000 at window 200), so 200 runs are expected to see none; a fire here means the
     * statistics or the Bonferroni share broke, not bad luck, unless the simulated traffic is changed.
     */
    @Test
    void stationaryTrafficNeverFiresAtTheDefaults() throws Exception {
        var trigger = defaults();
        var random = new Random(20260101L);
        int fires = 0;
        for (int s = 0; s < SIMULATIONS; s++) {
            var reference = traffic(random, 2000, new double[] {0.5, 0.3, 0.2}, 4, -1, 0);
            var recent = traffic(random, 500, new double[] {0.5, 0.3, 0.2}, 4, -1, 0);
            fires += trigger.evaluate(withSamples(reference, recent)).fire() ? 1 : 0;
        }
        System.out.printf("drift calibration: stationary fired %d of %d%n", fires, SIMULATIONS);
        assertThat(fires).isZero();
    }

    @Test
    void stationaryTrafficAtTheMinimumWindowNeverFiresAtTheDefaults() throws Exception {
        var trigger = defaults();
        var random = new Random(20260102L);
        int fires = 0;
        for (int s = 0; s < SIMULATIONS; s++) {
            var reference = traffic(random, 2000, FIFTY_FIFTY, 4, -1, 0);
            var recent = traffic(random, 200, FIFTY_FIFTY, 4, -1, 0);
            fires += trigger.evaluate(withSamples(reference, recent)).fire() ? 1 : 0;
        }
        System.out.printf("drift calibration: stationary (window 200) fired %d of %d%n", fires, SIMULATIONS);
        assertThat(fires).isZero();
    }

    @Test
    void aOneSdMeanShiftInOneFeatureFiresAlmostAlways() throws Exception {
        var trigger = defaults();
        var random = new Random(20260103L);
        int fires = 0;
        for (int s = 0; s < SIMULATIONS; s++) {
            var reference = traffic(random, 2000, FIFTY_FIFTY, 4, -1, 0);
            var recent = traffic(random, 500, FIFTY_FIFTY, 4, 1, 1.0);
            fires += trigger.evaluate(withSamples(reference, recent)).fire() ? 1 : 0;
        }
        System.out.printf("drift calibration: 1 sd feature shift fired %d of %d%n", fires, SIMULATIONS);
        assertThat(fires).isGreaterThanOrEqualTo((int) Math.ceil(0.95 * SIMULATIONS));
    }

    @Test
    void aLabelMixChangeFromFiftyFiftyToEightyTwentyFiresAlmostAlways() throws Exception {
        var trigger = defaults();
        var random = new Random(20260104L);
        int fires = 0;
        for (int s = 0; s < SIMULATIONS; s++) {
            // Features stay put: only the label mix tells.
            var reference = traffic(random, 2000, FIFTY_FIFTY, 4, -1, 0);
            var recent = traffic(random, 500, new double[] {0.8, 0.2}, 4, -1, 0);
            fires += trigger.evaluate(withSamples(reference, recent)).fire() ? 1 : 0;
        }
        System.out.printf("drift calibration: 50/50 -> 80/20 label shift fired %d of %d%n", fires, SIMULATIONS);
        assertThat(fires).isGreaterThanOrEqualTo((int) Math.ceil(0.95 * SIMULATIONS));
    }

    @Test
    void theKsThresholdIsAFamilyWiseFalseAlarmRateAcrossFeatures() throws Exception {
        // With 8 features and ks_p_value 0.05, uncorrected tests would fire in 1 - 0.95^8 = 34% of stationary
        // evaluations; shared across the features (Bonferroni) they fire in at most about 5%.
        var trigger = create(Map.of("ks_p_value", 0.05, "ks_min_statistic", 0.0));
        var random = new Random(20260105L);
        int fires = 0;
        int runs = 400;
        for (int s = 0; s < runs; s++) {
            var reference = traffic(random, 1000, FIFTY_FIFTY, 8, -1, 0);
            var recent = traffic(random, 300, FIFTY_FIFTY, 8, -1, 0);
            fires += trigger.evaluate(withSamples(reference, recent)).fire() ? 1 : 0;
        }
        assertThat(fires / (double) runs).isBetween(0.01, 0.075);
    }

    // --------------------------------------------------------------------------------------------------------

    private RetrainingTrigger defaults() throws ConfigValidationException {
        return create(Map.of());
    }

    private RetrainingTrigger create(Map<String, ?> raw) throws ConfigValidationException {
        return factory.create(factory.configSchema().validate(raw), extensionContext());
    }

    private static Sample labelsOnly(Random random, int n, double[] shares) {
        return new Sample(traffic(random, n, shares, 0, -1, 0).labels(), List.of(), List.of());
    }

    private static Sample concat(Sample first, Sample second) {
        var labels = new ArrayList<>(first.labels());
        labels.addAll(second.labels());
        var features = new ArrayList<>(first.features());
        features.addAll(second.features());
        return new Sample(labels, features, Collections.emptyList());
    }
}
