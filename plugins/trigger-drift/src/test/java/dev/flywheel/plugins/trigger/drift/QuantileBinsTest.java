package dev.flywheel.plugins.trigger.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class QuantileBinsTest {

    @Test
    void cutsAtTheDecilesSoEachBinHoldsATenthOfTheReference() {
        double[] reference = IntStream.rangeClosed(1, 100).asDoubleStream().toArray();
        double[] cuts = QuantileBins.cuts(reference, 10);
        assertThat(cuts).containsExactly(10, 20, 30, 40, 50, 60, 70, 80, 90);
        assertThat(QuantileBins.counts(reference, cuts)).containsOnly(10.0);
    }

    @Test
    void valuesEqualToACutGoIntoTheBinItCloses() {
        double[] cuts = {1, 2};
        assertThat(QuantileBins.counts(new double[] {0.5, 1, 1.5, 2, 2.5, 99}, cuts)).containsExactly(2, 2, 2);
    }

    @Test
    void tiesCollapseIntoFewerBinsInsteadOfEmptyOnes() {
        // 90% zeros, then 1..10: a sparse feature, as one-hot inputs are.
        double[] reference = new double[100];
        for (int i = 0; i < 10; i++) {
            reference[90 + i] = i + 1;
        }
        double[] cuts = QuantileBins.cuts(reference, 10);
        assertThat(cuts).containsExactly(0);
        assertThat(QuantileBins.counts(reference, cuts)).containsExactly(90, 10);
    }

    @Test
    void aConstantReferenceHasOneBin() {
        assertThat(QuantileBins.cuts(new double[] {3, 3, 3, 3}, 10)).isEmpty();
    }

    @Test
    void needsAtLeastTwoBins() {
        assertThatThrownBy(() -> QuantileBins.cuts(new double[] {1, 2}, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 2 bins");
    }
}
