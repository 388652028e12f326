package dev.flywheel.plugins.trigger.drift;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class PopulationStabilityIndexTest {

    @Test
    void identicalDistributionsHaveZeroPsi() {
        assertThat(PopulationStabilityIndex.of(new double[] {0.2, 0.3, 0.5}, new double[] {0.2, 0.3, 0.5}))
                .isEqualTo(0.0);
        // Counts are normalised, so the same shape at a different scale is still no shift.
        assertThat(PopulationStabilityIndex.of(new double[] {20, 30, 50}, new double[] {2, 3, 5}))
                .isCloseTo(0.0, within(1e-15));
    }

    @Test
    void matchesTheFormulaForAFiftyFiftyToEightyTwentyShift() {
        // 0.3 ln(0.8/0.5) + (-0.3) ln(0.2/0.5), worked by hand: 0.141001 + 0.274887
        double expected = 0.3 * Math.log(1.6) - 0.3 * Math.log(0.4);
        assertThat(PopulationStabilityIndex.of(new double[] {0.5, 0.5}, new double[] {0.8, 0.2}))
                .isCloseTo(expected, within(1e-12))
                .isCloseTo(0.415888, within(1e-6));
    }

    @Test
    void isSymmetric() {
        double[] e = {0.1, 0.4, 0.5};
        double[] a = {0.3, 0.3, 0.4};
        assertThat(PopulationStabilityIndex.of(e, a)).isCloseTo(PopulationStabilityIndex.of(a, e), within(1e-15));
    }

    @Test
    void anEmptyBinCountsAsEpsilonInsteadOfMakingThePsiInfinite() {
        double psi = PopulationStabilityIndex.of(new double[] {1, 0}, new double[] {0.5, 0.5});
        double eps = PopulationStabilityIndex.EPSILON;
        assertThat(psi).isFinite()
                .isCloseTo((0.5 - 1) * Math.log(0.5) + (0.5 - eps) * Math.log(0.5 / eps), within(1e-12));
    }

    @Test
    void rejectsDifferentBinCounts() {
        assertThatThrownBy(() -> PopulationStabilityIndex.of(new double[2], new double[3]))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void categoricalPsiNamesTheMostShiftedLabelAndCountsNewLabels() {
        List<String> reference = labels("cat", 50, "dog", 50);
        List<String> current = labels("cat", 80, "dog", 20);
        var result = PopulationStabilityIndex.ofCategories(reference, current);
        assertThat(result.psi()).isCloseTo(0.415888, within(1e-6));
        // dog's term (-0.3 * ln 0.4) is larger than cat's (0.3 * ln 1.6).
        assertThat(result.mostShifted()).isEqualTo("dog");
        assertThat(result.referenceShare()).containsEntry("cat", 0.5);
        assertThat(result.currentShare()).containsEntry("cat", 0.8);

        var withNewLabel = PopulationStabilityIndex.ofCategories(reference, labels("cat", 45, "dog", 45, "bird", 10));
        assertThat(withNewLabel.mostShifted()).isEqualTo("bird");
        assertThat(withNewLabel.currentShare()).containsEntry("bird", 0.1);
        assertThat(withNewLabel.referenceShare()).containsEntry("bird", 0.0);
        assertThat(withNewLabel.psi()).isGreaterThan(0.25);
    }

    @Test
    void continuousPsiOfTheSameValuesIsZeroAndOfShiftedValuesLarge() {
        double[] reference = new double[1000];
        double[] shifted = new double[1000];
        for (int i = 0; i < reference.length; i++) {
            reference[i] = i;
            shifted[i] = i + 500;
        }
        assertThat(PopulationStabilityIndex.ofContinuous(reference, reference.clone(), 10)).isEqualTo(0.0);
        // Half the shifted values land in the top bin: 0.5 ln 5 + 0.4 ln 0.1 ... well above 0.25.
        assertThat(PopulationStabilityIndex.ofContinuous(reference, shifted, 10)).isGreaterThan(2.0);
    }

    private static List<String> labels(Object... labelAndCount) {
        var out = new java.util.ArrayList<String>();
        for (int i = 0; i < labelAndCount.length; i += 2) {
            out.addAll(Collections.nCopies((Integer) labelAndCount[i + 1], (String) labelAndCount[i]));
        }
        return out;
    }
}
