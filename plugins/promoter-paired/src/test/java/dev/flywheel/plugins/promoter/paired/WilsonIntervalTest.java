package dev.flywheel.plugins.promoter.paired;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class WilsonIntervalTest {

    @ParameterizedTest(name = "{0} of {1}")
    @CsvSource({
        // Worked from the closed form in double precision (Python), z = 1.959963984540054.
        "8,   10,   0.49016247153664183, 0.9433178485456247",
        "0,   10,   0.0,                 0.2775327998628892",
        "10,  10,   0.7224672001371107,  1.0",
        "880, 1000, 0.8583909241522872,  0.8987007393986909"
    })
    void knownIntervals(long successes, long n, double lower, double upper) {
        var ci = WilsonInterval.of95(successes, n);
        assertThat(ci.lower()).isCloseTo(lower, within(1e-12));
        assertThat(ci.upper()).isCloseTo(upper, within(1e-12));
    }

    @Test
    void staysInsideZeroToOneAndNeedsSamples() {
        assertThat(WilsonInterval.of95(0, 1).lower()).isEqualTo(0.0);
        assertThat(WilsonInterval.of95(1, 1).upper()).isEqualTo(1.0);
        assertThatThrownBy(() -> WilsonInterval.of95(0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WilsonInterval.of95(3, 2)).isInstanceOf(IllegalArgumentException.class);
    }
}
