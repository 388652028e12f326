package dev.flywheel.plugins.trigger.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KolmogorovSmirnovTest {

    @Test
    void statisticOfTwoKnownSamples() {
        // F1 - F2 peaks at x = 7 and x = 9: 4/5 - 3/6 = 0.3, then 5/5 - 4/6 = 1/3.
        double d = KolmogorovSmirnov.statistic(new double[] {1, 3, 5, 7, 9}, new double[] {2, 4, 6, 8, 10, 12});
        assertThat(d).isCloseTo(1.0 / 3, within(1e-15));
    }

    @Test
    void statisticWithOverlapAndTies() {
        assertThat(KolmogorovSmirnov.statistic(new double[] {1, 2, 3, 4}, new double[] {3, 4, 5, 6})).isEqualTo(0.5);
        assertThat(KolmogorovSmirnov.statistic(new double[] {1, 2, 3, 4}, new double[] {5, 6, 7, 8})).isEqualTo(1.0);
        // The same values in another order and multiplicity: no distance, even though a naive merge that
        // advances one side at a time would report a gap at every tie.
        assertThat(KolmogorovSmirnov.statistic(new double[] {2, 1, 1, 2}, new double[] {1, 2})).isEqualTo(0.0);
    }

    @ParameterizedTest(name = "Q({0}) = {1}")
    @CsvSource({
        // Textbook critical values, given to 4 decimals of the Kolmogorov distribution (e.g. Smirnov 1948 tables; Numerical Recipes).
        "0.5,    0.9639452436648751",
        "1.0,    0.2699996716773546",
        "1.2238, 0.10",
        "1.3581, 0.05",
        "1.6276, 0.01",
        "1.9495, 0.001"
    })
    void kolmogorovSurvivalMatchesTextbookValues(double lambda, double expected) {
        assertThat(KolmogorovSmirnov.kolmogorovSurvival(lambda)).isCloseTo(expected, within(expected * 5e-4));
    }

    @Test
    void bothSeriesAgreeWithAnIndependentlySummedAlternatingSeries() {
        for (double lambda = 0.3; lambda <= 3.0; lambda += 0.05) {
            double direct = 0;
            for (int j = 1; j <= 2000; j++) {
                direct += (j % 2 == 1 ? 2 : -2) * Math.exp(-2.0 * j * j * lambda * lambda);
            }
            assertThat(KolmogorovSmirnov.kolmogorovSurvival(lambda)).as("lambda %s", lambda)
                    .isCloseTo(direct, within(1e-12));
        }
    }

    @Test
    void pValueIsOneForNoDistanceAndTinyForDisjointSamples() {
        assertThat(KolmogorovSmirnov.pValue(0, 500, 2000)).isEqualTo(1.0);
        assertThat(KolmogorovSmirnov.pValue(1, 500, 2000)).isLessThan(1e-100);
    }

    @Test
    void pValueUsesStephensCorrectedEffectiveSize() {
        // n = 500, m = 2000: en = sqrt(500 * 2000 / 2500) = 20, lambda = (20 + 0.12 + 0.0055) * D.
        double d = 0.1;
        double lambda = (20 + 0.12 + 0.11 / 20) * d;
        assertThat(KolmogorovSmirnov.pValue(d, 500, 2000))
                .isCloseTo(KolmogorovSmirnov.kolmogorovSurvival(lambda), within(1e-15))
                .isCloseTo(2 * Math.exp(-2 * lambda * lambda), within(1e-9));
    }

    @Test
    void pValueIsCalibratedUnderTheNullHypothesis() {
        // Two samples from the same distribution: about 5% of p-values fall below 0.05 (the test is slightly
        // conservative because D is discrete), and about 1% below 0.01.
        var random = new Random(42);
        int below5 = 0;
        int below1 = 0;
        int runs = 2000;
        for (int r = 0; r < runs; r++) {
            double p = KolmogorovSmirnov.test(gaussian(random, 200), gaussian(random, 300)).pValue();
            below5 += p < 0.05 ? 1 : 0;
            below1 += p < 0.01 ? 1 : 0;
        }
        assertThat(below5 / (double) runs).isBetween(0.03, 0.065);
        assertThat(below1 / (double) runs).isBetween(0.003, 0.017);
    }

    @Test
    void detectsAShiftOfHalfAStandardDeviation() {
        var random = new Random(7);
        double[] reference = gaussian(random, 2000);
        double[] shifted = gaussian(random, 500);
        for (int i = 0; i < shifted.length; i++) {
            shifted[i] += 0.5;
        }
        var result = KolmogorovSmirnov.test(reference, shifted);
        // The population distance is Phi(0.25) - Phi(-0.25) = 0.197.
        assertThat(result.statistic()).isCloseTo(0.197, within(0.05));
        assertThat(result.pValue()).isLessThan(1e-10);
    }

    private static double[] gaussian(Random random, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextGaussian();
        }
        return out;
    }
}
