package dev.flywheel.plugins.promoter.paired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LogGammaTest {

    @Test
    void knownValues() {
        assertThat(LogGamma.of(1)).isCloseTo(0, within(1e-14));
        assertThat(LogGamma.of(2)).isCloseTo(0, within(1e-14));
        assertThat(LogGamma.of(0.5)).isCloseTo(0.5 * Math.log(Math.PI), within(1e-14));
        assertThat(LogGamma.of(0.1)).isCloseTo(2.252712651734206, within(1e-13));
        // ln(100!) and ln Gamma(10^6), from Python's math.lgamma.
        assertThat(LogGamma.of(101)).isCloseTo(363.73937555556347, within(1e-11));
        assertThat(LogGamma.of(1e6)).isCloseTo(12815504.569147611, within(1e-6));
    }

    @Test
    void agreesWithFactorialsComputedDirectly() {
        double logFactorial = 0;
        for (int k = 1; k <= 170; k++) {
            logFactorial += Math.log(k);
            assertThat(LogGamma.of(k + 1)).as("ln %d!", k).isCloseTo(logFactorial, within(1e-12 * Math.max(1, logFactorial)));
        }
    }

    @Test
    void logBinomial() {
        assertThat(LogGamma.logBinomial(10, 3)).isCloseTo(Math.log(120), within(1e-13));
        assertThat(LogGamma.logBinomial(52, 5)).isCloseTo(Math.log(2_598_960), within(1e-12));
        assertThat(LogGamma.logBinomial(7, 0)).isCloseTo(0, within(1e-13));
        assertThatThrownBy(() -> LogGamma.logBinomial(3, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LogGamma.of(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
