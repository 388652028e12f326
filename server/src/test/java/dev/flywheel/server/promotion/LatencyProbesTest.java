package dev.flywheel.server.promotion;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flywheel.spi.promotion.LatencyProbe;
import org.junit.jupiter.api.Test;

/** The latency probe's summary of timed pairs: medians and the distribution-free interval of the median ratio. */
class LatencyProbesTest {

    @Test
    void theMedianRatioIsOfThePerInputRatiosAndItsIntervalOfOrderStatistics() {
        // 20 pairs: the primary takes 1 ms, the shadow 1.01 .. 1.20 ms on the inputs in turn.
        int n = 20;
        double[] primary = new double[n];
        double[] shadow = new double[n];
        double[] ratios = new double[n];
        for (int i = 0; i < n; i++) {
            primary[i] = 1.0;
            shadow[i] = 1.0 + (i + 1) / 100.0;
            ratios[i] = shadow[i] / primary[i];
        }
        LatencyProbe p = LatencyProbes.of(primary, shadow, ratios);
        assertThat(p.pairs()).isEqualTo(20);
        assertThat(p.primaryMedianMillis()).isEqualTo(1.0);
        assertThat(p.medianRatio()).isEqualTo((1.10 + 1.11) / 2);
        // Ranks round(10 - 1.96 * sqrt(20) / 2) = 6 and round(11 + 4.38) = 15, the textbook pair for n = 20
        // (binomial coverage 95.9%).
        assertThat(p.ratioCi95Low()).isEqualTo(1.06);
        assertThat(p.ratioCi95High()).isEqualTo(1.15);
    }

    @Test
    void aFewStalledPassesDoNotMoveTheMedian() {
        // On a busy machine some passes are preempted: 3 of 30 pairs have one pass 50x slower.
        int n = 30;
        double[] primary = new double[n];
        double[] shadow = new double[n];
        double[] ratios = new double[n];
        for (int i = 0; i < n; i++) {
            primary[i] = i % 10 == 3 ? 50.0 : 1.0;
            shadow[i] = i % 10 == 7 ? 50.0 : 1.0;
            ratios[i] = shadow[i] / primary[i];
        }
        LatencyProbe p = LatencyProbes.of(primary, shadow, ratios);
        assertThat(p.medianRatio()).isEqualTo(1.0);
        assertThat(p.ratioCi95Low()).isEqualTo(1.0);
        assertThat(p.ratioCi95High()).isEqualTo(1.0);
    }

    @Test
    void tooFewPairsHaveNoInterval() {
        LatencyProbe p = LatencyProbes.of(new double[] {1, 2}, new double[] {2, 2}, new double[] {2, 1});
        assertThat(p.medianRatio()).isEqualTo(1.5);
        assertThat(p.ratioCi95Low()).isNaN();
    }
}
