package dev.flywheel.plugins.promoter.paired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class McNemarTest {

    @Test
    void tenDiscordantPairsAllOneWay() {
        assertThat(McNemar.exactPValue(10, 0)).isCloseTo(2 * Math.pow(0.5, 10), within(1e-15));
        assertThat(McNemar.exactPValue(10, 0)).isCloseTo(0.001953125, within(1e-15));
        assertThat(McNemar.exactPValue(0, 10)).isEqualTo(McNemar.exactPValue(10, 0));
    }

    @ParameterizedTest(name = "b={0}, c={1}")
    @CsvSource({"0, 0", "1, 0", "3, 3", "500, 500", "1000000, 1000000", "7, 8"})
    void balancedOrEmptyDisagreementGivesPOne(long b, long c) {
        assertThat(McNemar.exactPValue(b, c)).isEqualTo(1.0);
    }

    @ParameterizedTest(name = "b={0}, c={1}: p={2}")
    @CsvSource({
        // Exact values from 2 * sum_{i<=k} C(n,i) / 2^n in rational arithmetic (Python fractions, integer comb).
        "5,    15,   0.04138946533203125",
        "30,   50,   0.03299261842647618",
        "40,   120,  1.7524500188513453e-10",
        "4800, 5200, 6.593515598672442e-05"
    })
    void matchesExactRationalValues(long b, long c, double expected) {
        assertThat(McNemar.exactPValue(b, c)).isCloseTo(expected, within(expected * 1e-9));
        assertThat(McNemar.exactPValue(c, b)).isCloseTo(expected, within(expected * 1e-9));
    }

    @Test
    void largeSamplesAgreeWithTheContinuityCorrectedNormalApproximation() {
        long[][] cases = {{4800, 5200}, {49_000, 51_000}, {10_000_000, 10_020_000}, {2_000_000, 2_003_000}};
        for (long[] bc : cases) {
            long n = bc[0] + bc[1];
            double z = (Math.abs(bc[0] - bc[1]) - 1) / Math.sqrt(n);
            double normal = 2 * upperNormalTail(z);
            assertThat(McNemar.exactPValue(bc[0], bc[1])).as("b=%d c=%d", bc[0], bc[1])
                    .isCloseTo(normal, within(normal * 0.03));
        }
    }

    @Test
    void aHugeOneSidedDifferenceUnderflowsToZeroRatherThanFailing() {
        assertThat(McNemar.exactPValue(2_000, 0)).isEqualTo(0.0);
        assertThat(McNemar.exactPValue(1_000, 10)).isGreaterThanOrEqualTo(0.0).isLessThan(1e-250);
    }

    @Test
    void rejectsNegativeCounts() {
        assertThatThrownBy(() -> McNemar.exactPValue(-1, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    /** P(Z > z) by Simpson integration of the normal density: independent of the code under test. */
    private static double upperNormalTail(double z) {
        int steps = 200_000;
        double upper = z + 40;
        double h = (upper - z) / steps;
        double sum = density(z) + density(upper);
        for (int i = 1; i < steps; i++) {
            sum += (i % 2 == 1 ? 4 : 2) * density(z + i * h);
        }
        return sum * h / 3;
    }

    private static double density(double x) {
        return Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
    }
}
