package dev.flywheel.server.promotion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import org.junit.jupiter.api.Test;

/** The comparison's statistics against exact arithmetic and published values. */
class PromotionStatisticsTest {

    @Test
    void mcNemarMatchesTheExactBinomialTail() {
        assertThat(Statistics.mcNemarExactP(0, 0)).isEqualTo(1.0);
        assertThat(Statistics.mcNemarExactP(5, 5)).isEqualTo(1.0);
        for (int[] bc : new int[][] {{6, 24}, {24, 6}, {0, 10}, {3, 7}, {40, 61}, {500, 550}}) {
            assertThat(Statistics.mcNemarExactP(bc[0], bc[1])).as("b=%d c=%d", bc[0], bc[1])
                    .isCloseTo(exact(bc[0], bc[1]), within(1e-9));
        }
        // Symmetric, and accurate far into the tail where a naive product underflows.
        assertThat(Statistics.mcNemarExactP(24, 6)).isEqualTo(Statistics.mcNemarExactP(6, 24));
        assertThat(Statistics.mcNemarExactP(100_000, 101_000)).isBetween(0.02, 0.05);
        assertThat(Statistics.mcNemarExactP(0, 2000)).isGreaterThanOrEqualTo(0).isLessThan(1e-300);
    }

    @Test
    void theNormalTailMatchesTabulatedValues() {
        // Python's statistics.NormalDist: 1 - cdf(z).
        assertThat(Statistics.upperNormalTail(0)).isCloseTo(0.5, within(1e-7));
        assertThat(Statistics.upperNormalTail(1.0)).isCloseTo(0.15865525393145707, within(1e-7));
        assertThat(Statistics.upperNormalTail(3.0)).isCloseTo(0.0013498980316301035, within(1e-9));
        assertThat(Statistics.upperNormalTail(-1.5)).isCloseTo(0.9331927987311419, within(1e-7));
        assertThat(Statistics.upperNormalTail(5.0)).isCloseTo(2.866515718125129e-07, within(1e-12));
    }

    @Test
    void anAccuracyDropBeyondTheToleranceIsSignificantOnlyWithTheNumbersForIt() {
        // 0.70 on 200 against 0.80 on 300: a drop of 0.10 is 0.05 beyond the tolerance, z = 1.2566, p = 0.1045.
        assertThat(Statistics.dropBeyondToleranceP(140, 200, 240, 300, 0.05)).isCloseTo(0.10445619087034885,
                within(1e-6));
        // The same rates on ten times the reviews: significant.
        assertThat(Statistics.dropBeyondToleranceP(1400, 2000, 2400, 3000, 0.05)).isLessThan(1e-4);
        // A drop within the tolerance never is, however many reviews.
        assertThat(Statistics.dropBeyondToleranceP(7700, 10000, 8000, 10000, 0.05)).isGreaterThan(0.99);
        // Both without variance: only the size of the drop decides.
        assertThat(Statistics.dropBeyondToleranceP(0, 40, 100, 100, 0.05)).isZero();
        assertThat(Statistics.dropBeyondToleranceP(40, 40, 40, 40, 0.05)).isEqualTo(1.0);
        assertThat(Statistics.dropBeyondToleranceP(0, 0, 40, 40, 0.05)).isEqualTo(1.0);
    }

    @Test
    void wilsonIntervalMatchesPublishedValues() {
        // Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662.
        double[] ci = Statistics.wilson(81, 263, Statistics.Z95);
        assertThat(ci[0]).isCloseTo(0.2553, within(1e-4));
        assertThat(ci[1]).isCloseTo(0.3662, within(1e-4));
        double[] all = Statistics.wilson(10, 10, Statistics.Z95);
        assertThat(all[1]).isCloseTo(1.0, within(1e-12));
        assertThat(all[0]).isCloseTo(0.7225, within(1e-4));
        assertThat(Statistics.wilson(0, 0, Statistics.Z95)).isNull();
    }

    private static double exact(int b, int c) {
        int n = b + c;
        int k = Math.min(b, c);
        BigInteger sum = BigInteger.ZERO;
        BigInteger choose = BigInteger.ONE;
        for (int i = 0; i <= k; i++) {
            if (i > 0) {
                choose = choose.multiply(BigInteger.valueOf(n - i + 1)).divide(BigInteger.valueOf(i));
            }
            sum = sum.add(choose);
        }
        BigDecimal p = new BigDecimal(sum.shiftLeft(1)).divide(new BigDecimal(BigInteger.ONE.shiftLeft(n)),
                MathContext.DECIMAL128);
        return Math.min(1.0, p.doubleValue());
    }
}
